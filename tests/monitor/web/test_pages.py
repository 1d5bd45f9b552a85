"""The inbox's pages as the owner uses them, over mentions that came through the pipeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.config import Config, parse_config
from monitor.store import Reading, Store
from monitor.store.answers import recent_alerts
from monitor.web import pages
from tests.monitor.web.conftest import (
    HOSTILE,
    WEB,
    AppMaker,
    config_text,
    csrf_of,
    fill,
    log_in,
    make_config,
)


def cards(page: str) -> list[str]:
    return re.findall(r"<article class=\"mention.*?</article>", page, re.S)


def ids_in(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="mention[^"]*" id="m(\d+)"', page)]


def answer(client: TestClient, mention_id: int, **data: str) -> None:
    token = csrf_of(client.get(f"/mentions/{mention_id}").text)
    result = client.post(
        f"/mentions/{mention_id}/status",
        data={"csrf_token": token, **data},
        follow_redirects=False,
    )
    assert result.status_code == 303, result.text


def test_the_inbox_shows_what_needs_an_answer_most_urgent_first(logged_in: TestClient) -> None:
    page = logged_in.get("/").text
    assert ids_in(page) == [1, 2]  # both serious; the older first; the praise is not here
    assert "2 mentions" in page
    first = cards(page)[0]
    for shown in ("Acme Coffee", "on demo", "by ann", "12k followers", "30 min ago", "serious"):
        assert shown in first
    assert "Still waiting for my Acme Coffee refund after 3 weeks." in first
    # Why, in the owner's words: no scorer jargon, no numbers.
    assert "<li>waiting: &#34;still waiting&#34;</li>" in first
    assert "<li>angry words: worst</li>" in first
    assert "vader" not in page and not re.search(r"[+-]0\.\d", page)
    assert '<a href="https://social.example/@ann/1" rel="noopener noreferrer nofollow"' in first
    for button in ("Acknowledge", "Resolve", "Ignore", "Not negative"):
        assert f">{button}</button>" in first  # on the mention's own card


def test_stranger_text_is_shown_as_written_and_runs_nothing(logged_in: TestClient) -> None:
    for path in ("/", "/mentions/2", "/mentions/2/ack"):
        page = logged_in.get(path).text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
        assert "<script" not in page and "<img" not in page
        assert "onerror=alert(1)>" not in page
        assert "&lt;b&gt;mallory&lt;/b&gt;" in page and "<b>" not in page
        # A javascript: address is shown as text, never a link.
        assert 'href="javascript:' not in page
    assert HOSTILE.split(" <")[0] in logged_in.get("/mentions/2").text


def test_acknowledge_records_one_change_and_leaves_the_needs_view(
    logged_in: TestClient, inbox_store: Store
) -> None:
    token = csrf_of(logged_in.get("/").text)
    result = logged_in.post(
        "/mentions/1/status",
        data={"status": "acknowledged", "csrf_token": token, "next": "/?view=needs"},
        follow_redirects=False,
    )
    assert result.status_code == 303 and result.headers["location"] == "/?view=needs"
    assert ids_in(logged_in.get("/").text) == [2]
    row = inbox_store.mention(1)
    assert row is not None and row.status == "acknowledged"
    changes = inbox_store.status_changes(1)
    assert [(c.status, c.note) for c in changes] == [("acknowledged", None)]
    # Pressing it again (a second tab) changes nothing and keeps no second record.
    logged_in.post("/mentions/1/status", data={"status": "acknowledged", "csrf_token": token})
    assert len(inbox_store.status_changes(1)) == 1
    acknowledged = logged_in.get("/?view=all&status=acknowledged").text
    assert ids_in(acknowledged) == [1]


def test_resolve_with_a_note_shows_in_the_history(
    logged_in: TestClient, inbox_store: Store
) -> None:
    answer(logged_in, 2, status="resolved", note="Called them, refunded <b>today</b>")
    page = logged_in.get("/mentions/2").text
    assert "resolved by the inbox: Called them, refunded &lt;b&gt;today&lt;/b&gt;" in page
    assert ">Resolve</button>" not in cards(page)[0]  # already resolved
    answer(logged_in, 2, status="ignored")
    changes = inbox_store.status_changes(2)
    assert [(c.status, c.actor) for c in changes] == [("resolved", "the inbox")] * 1 + [
        ("ignored", "the inbox")
    ]


def test_an_unknown_answer_or_mention_is_refused(logged_in: TestClient) -> None:
    token = csrf_of(logged_in.get("/").text)
    bad = logged_in.post("/mentions/1/status", data={"status": "new", "csrf_token": token})
    assert bad.status_code == 400 and "Choose Acknowledge, Resolve or Ignore" in bad.text
    missing = logged_in.post("/mentions/99/status", data={"status": "ignored", "csrf_token": token})
    assert missing.status_code == 404
    assert logged_in.get("/mentions/99").status_code == 404


def test_the_confirm_page_changes_nothing_until_its_button(
    logged_in: TestClient, inbox_store: Store
) -> None:
    page = logged_in.get("/mentions/1/ack")
    assert page.status_code == 200 and ">Acknowledge</button>" in page.text
    assert inbox_store.mention(1).status == "new"  # type: ignore[union-attr]
    done = logged_in.post(
        "/mentions/1/ack", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/mentions/1"
    assert inbox_store.mention(1).status == "acknowledged"  # type: ignore[union-attr]
    assert "It is already acknowledged." in logged_in.get("/mentions/1/ack").text


def test_not_negative_moves_it_out_and_says_so(logged_in: TestClient, inbox_store: Store) -> None:
    token = csrf_of(logged_in.get("/").text)
    result = logged_in.post(
        "/mentions/2/verdict",
        data={"verdict": "not_negative", "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert result.status_code == 303
    assert ids_in(logged_in.get("/").text) == [1]
    page = logged_in.get("/mentions/2").text
    assert "you said: not negative" in page
    assert "you marked this not negative" in page  # the reasons say why it changed
    assert ">Negative</button>" in page  # and it can be taken back
    bad = logged_in.post("/mentions/2/verdict", data={"verdict": "meh", "csrf_token": token})
    assert bad.status_code == 400


def test_views_filters_and_search(logged_in: TestClient) -> None:
    assert ids_in(logged_in.get("/?view=all").text) == [3, 2, 1]  # newest first
    assert ids_in(logged_in.get("/?view=unflagged").text) == [3]
    assert ids_in(logged_in.get("/?view=all&q=REFUND").text) == [1]
    assert ids_in(logged_in.get("/?view=all&q=mallory").text) == [2]
    assert ids_in(logged_in.get("/?view=all&negative=0").text) == [3]
    assert ids_in(logged_in.get("/?view=all&brand=Nope").text) == []
    assert ids_in(logged_in.get("/?view=all&since=1m").text) == [3, 2, 1]  # all seen now
    bad = logged_in.get("/?view=all&since=yesterday").text
    assert "is not a time span" in bad and ids_in(bad) == [3, 2, 1]
    page = logged_in.get("/?view=all&q=%3Cscript%3E").text
    assert 'value="&lt;script&gt;"' in page


def test_next_page_follows_the_cursor(
    logged_in: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = logged_in.get("/?view=all").text
    assert ids_in(first) == [3, 2] and "3 mentions" in first
    link = re.search(r'href="(/\?[^"]*cursor=[^"]+)" rel="next"', first)
    assert link is not None
    second = logged_in.get(link.group(1).replace("&amp;", "&")).text
    assert ids_in(second) == [1] and 'rel="next"' not in second and "First page" in second
    assert logged_in.get("/?view=all&cursor=forged").status_code == 400


def test_sources_say_what_is_wrong_and_what_to_do(
    logged_in: TestClient, inbox_store: Store
) -> None:
    now = datetime.now(UTC)
    for _ in range(3):
        inbox_store.record_failure("hackernews", "HTTP 503 from hn.algolia.com", now)
    inbox_store.queue_notice(
        "health",
        "failing:hackernews:x",
        {
            "title": "hackernews has stopped working",
            "text": "hackernews failed 3 polls in a row. Last error: HTTP 503. Fix: wait for "
            "Hacker News to come back. `mention-monitor check` shows its state.",
            "source": "hackernews",
        },
        "negative",
        ["console"],
        now,
    )
    page = logged_in.get("/sources").text
    assert "failing (3 polls in a row)" in page
    assert "HTTP 503 from hn.algolia.com" in page
    assert "What to do:</strong> wait for Hacker News to come back" in page
    assert "working" in page  # the demo source polled fine


def test_a_dead_alert_can_be_sent_again(logged_in: TestClient, inbox_store: Store) -> None:
    now = datetime.now(UTC)
    inbox_store.mark_failed([1], "Slack said: invalid_token", retry_at=None)
    inbox_store.pause_channel("console", "the token was revoked", now)
    page = logged_in.get("/alerts?status=dead").text
    assert "invalid_token" in page and "Send again" in page
    assert "paused since" in page
    result = logged_in.post(
        "/alerts/1/retry", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert result.status_code == 303 and result.headers["location"] == "/alerts?status=pending"
    row = recent_alerts(inbox_store, status="pending")[0]
    assert row.id == 1 and row.attempts == 0
    assert inbox_store.paused_channels() == {}
    again = logged_in.post("/alerts/1/retry", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 400 and "not undeliverable" in again.text


def test_the_mention_page_has_history_alerts_and_readings(
    logged_in: TestClient, inbox_store: Store
) -> None:
    answer(logged_in, 1, status="acknowledged", note="on it")
    later = datetime.now(UTC)
    reading = Reading(1, {"likes": 40, "reposts": 9}, 2, None, 1, 1, None)
    inbox_store.record_readings([reading], later)
    page = logged_in.get("/mentions/1").text
    assert "acknowledged by the inbox: on it" in page
    assert "<td>mention</td><td>console</td><td>sent</td>" in page
    assert "Engagement readings" in page and "40 likes, 9 reposts" in page
    assert "no longer followed" in page


def test_under_a_path_prefix_every_link_and_redirect_keeps_it(
    tmp_path: Path, make_client: AppMaker
) -> None:
    config = make_config(tmp_path, WEB + "  public_url: https://shop.example/monitor\n")
    fill(config)
    client = make_client(config, root_path="/monitor", base_url="https://shop.example")
    login = client.get("/monitor/", follow_redirects=False)
    assert login.headers["location"] == "/monitor/login?next=%2F"
    log_in(client, prefix="/monitor")
    page = client.get("/monitor/").text
    assert 'href="/monitor/static/app.css"' in page
    assert 'action="/monitor/mentions/1/status"' in page
    assert 'href="/monitor/mentions/1"' in page and 'href="/monitor/sources"' in page
    assert client.get("/monitor/static/app.css").status_code == 200
    result = client.post(
        "/monitor/mentions/1/status",
        data={"status": "ignored", "csrf_token": csrf_of(page), "next": "/?view=all"},
        follow_redirects=False,
    )
    assert result.headers["location"] == "/monitor/?view=all"


def test_healthz_needs_no_login_and_says_nothing_else(inbox: TestClient) -> None:
    answer = inbox.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_a_store_config_without_web_section_serves_open_on_loopback(
    tmp_path: Path, make_client: AppMaker, inbox_config: Config
) -> None:
    assert inbox_config.web.password is not None
    open_inbox = make_client(make_config(tmp_path))
    assert ids_in(open_inbox.get("/").text) == [1, 2]


def test_a_metered_source_shows_its_budget(tmp_path: Path, make_client: AppMaker) -> None:
    raw = config_text(tmp_path / "inbox.db").replace(
        "  hackernews: {}\n",
        "  hackernews: {}\n  x:\n    bearer_token: tok-123456789\n    monthly_read_budget: 1000\n",
    )
    client = make_client(parse_config(raw, base_dir=tmp_path))
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    month = f"{datetime.now(UTC):%Y-%m}"
    store.state_set("x", f"reads:{month}", "850")  # as the X connector counts its reads
    page = client.get("/sources").text
    assert f"Budget: 850 of 1,000 posts read in {month} (about $4.25), 85%" in page
    assert "tok-123456789" not in page
    store.state_set("x", f"reads:{month}", "1000")
    assert "Budget used up: 1,000 of 1,000" in client.get("/sources").text


def test_a_source_whose_secret_this_inbox_lacks_is_not_called_gone(
    tmp_path: Path, make_client: AppMaker, inbox_store: Store
) -> None:
    raw = config_text(tmp_path / "inbox.db").replace(
        "  hackernews: {}\n", "  hackernews: {}\n  x:\n    bearer_token: ${MM_UNSET_X}\n"
    )
    config = parse_config(raw, base_dir=tmp_path, secrets=False)  # as `mention-monitor web`
    inbox_store.record_success("x", 3, datetime.now(UTC))
    page = make_client(config).get("/sources").text
    assert 'x <span class="state-warn">configured; its secret is not set for this inbox' in page
    assert 'demo <span class="state-warn">no longer in the configuration' in page
