"""The real command line, end to end: config file, stand-in Hacker News, SQLite, console."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.standins.hackernews import HackerNewsAPI, comment, story
from tests.standins.server import Response, StandIn

NEGATIVE = "Acme Coffee charged me twice and the latte was cold. Terrible service."


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def hn_items(hn_api: HackerNewsAPI) -> HackerNewsAPI:
    now = int(time.time())
    hn_api.add(
        story(1, "Acme Coffee opens a new roastery", created=now - 300, points=12),
        comment(2, NEGATIVE, created=now - 200),
        comment(3, "Acme Coffee Co. Ltd filed its accounts late, awful", created=now - 100),
        comment(4, "acmecoffeehouse.net is a terrible domain name", created=now - 50),
    )
    return hn_api


def alerts_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("[")]


def test_poll_alerts_once_then_nothing_new(hn_items: HackerNewsAPI, hn_config_path: Path) -> None:
    first = invoke("poll", "-c", str(hn_config_path))
    assert first.exit_code == 0, first.output
    assert alerts_in(first.stdout) == ["[NEGATIVE] Acme Coffee on hackernews"]
    assert NEGATIVE in first.stdout
    assert "hackernews: 4 fetched, 2 new, 1 negative" in first.stderr
    assert "alerts: 1 sent in 1 message, 0 to retry, 0 failed, 0 held" in first.stderr

    second = invoke("poll", "-c", str(hn_config_path))
    assert second.exit_code == 0
    assert alerts_in(second.stdout) == []
    assert "0 new" in second.stderr


def test_the_ack_hint_names_the_config_and_works_as_printed(
    hn_items: HackerNewsAPI, hn_config_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config that is not ./config.yaml: the alert's command says `-c` with its full path,
    so it reaches the same database typed from anywhere."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(here)
    polled = invoke("poll", "-c", os.path.relpath(hn_config_path, here))
    (hint,) = re.findall(r"`(mention-monitor mentions ack (\d+) -c (\S+))`", polled.stdout)
    assert hint[2] == str(hn_config_path.resolve())
    monkeypatch.chdir(elsewhere)
    acked = invoke(*hint[0].split()[1:])
    assert acked.exit_code == 0, acked.output
    assert f"mention #{hint[1]}: new -> acknowledged" in acked.output


def test_the_ack_hint_of_the_default_config_needs_no_option(
    hn_items: HackerNewsAPI, hn_config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hn_config_path.name == "config.yaml"
    monkeypatch.chdir(hn_config_path.parent)
    polled = invoke("poll")
    assert re.search(r"`mention-monitor mentions ack \d+` \(or resolve / ignore\)", polled.stdout)


def test_mentions_lists_what_was_stored(hn_items: HackerNewsAPI, hn_config_path: Path) -> None:
    invoke("poll", "-c", str(hn_config_path))
    rows = [
        json.loads(x)
        for x in invoke("mentions", "-c", str(hn_config_path), "--json").stdout.splitlines()
    ]
    assert [r["external_id"] for r in rows] == ["2", "1"]
    assert rows[0]["negative"] is True and rows[0]["brand"] == "Acme Coffee"
    assert rows[0]["matched_terms"] == ["Acme Coffee"]
    negative = invoke("mentions", "-c", str(hn_config_path), "--negative", "--brand", "acme coffee")
    assert "charged me twice" in negative.stdout and "new roastery" not in negative.stdout
    assert invoke("mentions", "-c", str(hn_config_path), "--since", "1s", "--json").stdout == ""
    bad = invoke("mentions", "-c", str(hn_config_path), "--brand", "Nope")
    assert bad.exit_code == 2 and "no brand 'Nope'" in bad.stderr
    assert invoke("mentions", "-c", str(hn_config_path), "--since", "yesterday").exit_code == 2


def test_a_failing_source_exits_1_and_says_why(
    hn_items: HackerNewsAPI, hn_server: StandIn, hn_config_path: Path
) -> None:
    hn_server.fail_next(Response(503, b"down"))
    result = invoke("poll", "-c", str(hn_config_path))
    assert result.exit_code == 1
    assert "hackernews: FAILED: hackernews: " in result.stderr and "HTTP 503" in result.stderr
    recovered = invoke("poll", "-c", str(hn_config_path))
    assert recovered.exit_code == 0 and len(alerts_in(recovered.stdout)) == 1
    check = invoke("check", "-c", str(hn_config_path))
    assert "hackernews: last success" in check.stdout


def test_config_path_from_the_environment(hn_items: HackerNewsAPI, hn_config_path: Path) -> None:
    result = invoke("poll", env={"MENTION_MONITOR_CONFIG": str(hn_config_path)})
    assert result.exit_code == 0 and len(alerts_in(result.stdout)) == 1


def test_killed_between_store_and_dispatch_delivers_exactly_once(
    hn_items: HackerNewsAPI, hn_config_path: Path
) -> None:
    # A real process stores the poll, then dies by SIGKILL before it dispatches.
    script = textwrap.dedent(
        f"""
        import os, signal
        from monitor.config import load_config
        from monitor.service import Service
        service = Service(load_config({str(hn_config_path)!r}))
        reports = service.poll()
        assert reports[0].new == 2, reports
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert alerts_in(died.stdout) == []

    after = invoke("poll", "-c", str(hn_config_path))
    assert after.exit_code == 0
    assert alerts_in(after.stdout) == ["[NEGATIVE] Acme Coffee on hackernews"]
    assert "0 new" in after.stderr  # the re-fetched mentions were already stored
    assert alerts_in(invoke("poll", "-c", str(hn_config_path)).stdout) == []


def test_check_prints_what_will_be_watched(hn_config_path: Path) -> None:
    result = invoke("check", "-c", str(hn_config_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Config OK: {hn_config_path}" in out
    assert 'keywords: ["Acme Coffee", "@acmecoffee", "#acmecoffee"]' in out
    assert 'exclude:  ["Acme Coffee Co. Ltd"]' in out
    assert "hackernews: every 5m from http://127.0.0.1:" in out
    assert "    timeout: 2s\n" in out  # what the owner wrote, as written
    assert "console (console): negative, all brands" in out
    assert f"Database: {hn_config_path.parent / 'mentions.db'}\n" in out
    assert "new: it will be created on the first run" in out


def test_check_and_poll_refuse_a_bad_config_with_exit_2(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_config(
        """
        brands:
          - name: Acme
            keywords: []
        sources:
          hackernews: {every: soon}
        """
    )
    for command in ("check", "poll", "run", "mentions"):
        result = invoke(command, "-c", str(path))
        assert result.exit_code == 2, command
        assert "2 configuration problems:" in result.stderr
        assert f"{path}:3: brands[0].keywords: must not be empty" in result.stderr
        assert f"{path}:5: sources.hackernews.every: 'soon' is not a duration" in result.stderr
    assert not (tmp_path / "mentions.db").exists()  # nothing started
    missing = invoke("check", "-c", str(tmp_path / "absent.yaml"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_init_writes_the_starter_config_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "new" / "config.yaml"
    target.parent.mkdir()
    first = invoke("init", str(target))
    assert first.exit_code == 0
    repo_config = Path(__file__).resolve().parents[1] / "config.yaml"
    assert target.read_text() == repo_config.read_text()
    assert invoke("check", "-c", str(target)).exit_code == 0
    target.write_text("mine")
    again = invoke("init", str(target))
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert target.read_text() == "mine"


def test_score_prints_one_result_per_line_in_order() -> None:
    texts = ["I love this coffee", "worst coffee ever, awful", "", "opening hours?"]
    result = invoke("score", "--json", input="\n".join(texts) + "\n")
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(rows) == 4
    assert [r["label"] for r in rows] == ["positive", "negative", "neutral", "neutral"]
    assert rows[1]["negative"] is True and rows[1]["compound"] < -0.5
    assert rows[1]["reasons"][0].startswith("vader -0.")
    assert set(rows[0]) >= {"negative", "compound", "label", "reasons"}
    plain = invoke("score", input="worst coffee ever\n").stdout
    assert plain.startswith("negative -0.")


def test_demo_runs_offline_and_prints_alerts() -> None:
    result = invoke("demo", "--no-web")
    assert result.exit_code == 0, result.output
    out = result.stdout
    blocks = alerts_in(out)
    assert len(blocks) == 10 and all("Acme Coffee" in b for b in blocks)
    assert "Co. Ltd still hasn't paid" not in out  # excluded mentions never alert
    assert "\x1b" not in out and "\u202e" not in out
    assert "21 posts found: 19 named a brand and were stored, 7 of them negative" in out
    assert "commands in its alerts are examples" in out  # its database is gone


def test_python_dash_m_monitor_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("init", "check", "run", "poll", "demo", "mentions", "score"):
        assert command in result.stdout


def test_run_polls_alerts_and_stops_cleanly_on_sigterm(
    hn_items: HackerNewsAPI, hn_config_path: Path
) -> None:
    text = hn_config_path.read_text().replace("every: 5m", "every: 1s")
    hn_config_path.write_text(text)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "-c", str(hn_config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(NEGATIVE in x for x in seen):
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
        assert any(NEGATIVE in x for x in seen), "no alert from the running service"
        time.sleep(2.5)  # a few more 1 s cycles: nothing more may be alerted
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    while not lines.empty():
        seen.append(lines.get())
    stderr = proc.stderr.read() if proc.stderr else ""
    assert code == 0, stderr
    assert sum(1 for x in seen if x.startswith("[")) == 1
    assert "mention-monitor stopped" in stderr


def test_test_alert_reports_each_channel_and_stats_summarise(
    write_config,
    hn_url: str,  # type: ignore[no-untyped-def]
) -> None:
    path = write_config(
        f"""
        brands:
          - name: Acme Coffee
            keywords: ["Acme Coffee"]
        sources:
          hackernews: {{base_url: "{hn_url}"}}
        alerts:
          channels:
            - type: console
            - type: console
              name: quiet-console
              enabled: false
        """
    )
    result = invoke("test-alert", "-c", str(path))
    assert result.exit_code == 0, result.output
    assert "This is a test alert from mention-monitor" in result.stdout
    assert "console: OK" in result.stdout
    assert "quiet-console: skipped (enabled: false)" in result.stdout
    bad = invoke("test-alert", "-c", str(path), "--channel", "nope")
    assert bad.exit_code == 2 and "no channel 'nope'" in bad.stderr

    invoke("poll", "-c", str(path))
    stats = invoke("stats", "-c", str(path))
    assert stats.exit_code == 0, stats.output
    assert "Acme Coffee" in stats.stdout and "hackernews: last success" in stats.stdout
    assert "console: 0 sent, 0 waiting, 0 undeliverable" in stats.stdout


def test_mentions_ack_resolve_ignore_show_and_stats(
    hn_items: HackerNewsAPI, hn_config_path: Path
) -> None:
    config = str(hn_config_path)
    invoke("poll", "-c", config)
    rows = [json.loads(x) for x in invoke("mentions", "-c", config, "--json").stdout.splitlines()]
    negative = next(r for r in rows if r["negative"])
    other = next(r for r in rows if not r["negative"])
    assert negative["status"] == "new"
    waiting = invoke("mentions", "-c", config, "--status", "new", "--negative")
    assert f"#{negative['id']}" in waiting.stdout and "[new]" in waiting.stdout
    stats = invoke("stats", "-c", config)
    assert f"waiting for an answer: #{negative['id']}" in stats.stdout

    ack = invoke("mentions", "-c", config, "ack", str(negative["id"]), "--note", "called back")
    assert ack.exit_code == 0, ack.output
    assert f"mention #{negative['id']}: new -> acknowledged" in ack.stdout
    assert invoke("mentions", "-c", config, "--status", "new", "--negative").stdout == ""
    resolved = invoke("mentions", "resolve", str(negative["id"]), "-c", config)  # -c after
    assert "acknowledged -> resolved" in resolved.stdout
    show = invoke("mentions", "-c", config, "show", str(negative["id"]))
    assert show.exit_code == 0, show.output
    assert "  status: resolved\n" in show.stdout  # the note was the ack's, not the resolve's
    assert "-> acknowledged: called back" in show.stdout and "-> resolved" in show.stdout
    assert "engagement readings" not in show.stdout  # an HN comment has no points to track

    ignored = invoke("mentions", "-c", config, "ignore", str(other["id"]), "99999")
    assert ignored.exit_code == 1
    assert "new -> ignored" in ignored.stdout and "no mention #99999" in ignored.stderr
    assert invoke("mentions", "-c", config, "show", "99999").exit_code == 1
    assert invoke("mentions", "-c", config, "ack").exit_code == 2  # no id
    stats = invoke("stats", "-c", config)
    assert "waiting for an answer" not in stats.stdout
    assert "posted->alert" in stats.stdout


def test_show_gives_the_note_of_the_change_that_set_the_status_and_repeats_are_no_ops(
    hn_items: HackerNewsAPI, hn_config_path: Path
) -> None:
    config = str(hn_config_path)
    invoke("poll", "-c", config)
    rows = [json.loads(x) for x in invoke("mentions", "-c", config, "--json").stdout.splitlines()]
    mention = str(next(r for r in rows if r["negative"])["id"])

    assert "new -> acknowledged" in invoke("mentions", "ack", mention, "-c", config).stdout
    resolved = invoke("mentions", "resolve", mention, "--note", "refunded", "-c", config)
    assert "acknowledged -> resolved" in resolved.stdout
    back = invoke("mentions", "ack", mention, "-c", config)  # she wrote again: back on it
    assert "resolved -> acknowledged" in back.stdout
    show = invoke("mentions", "show", mention, "-c", config).stdout
    assert "  status: acknowledged\n" in show  # not "(refunded)": that note was the resolve's
    assert show.count("-> acknowledged") == 2 and "-> resolved: refunded" in show

    again = invoke("mentions", "ack", mention, "--note", "still on it", "-c", config)
    assert again.exit_code == 0
    assert f"mention #{mention}: already acknowledged, nothing changed" in again.stdout
    after = invoke("mentions", "show", mention, "-c", config).stdout
    assert after.count("-> acknowledged") == 2 and "still on it" not in after
    (listed,) = [
        json.loads(x)
        for x in invoke("mentions", "-c", config, "--json").stdout.splitlines()
        if json.loads(x)["id"] == int(mention)
    ]
    assert listed["status"] == "acknowledged" and listed["status_note"] is None
