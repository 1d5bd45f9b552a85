"""`mention-monitor init`: the dialogue, driven in a real pseudo-terminal, and the plain template.

Each dialogue test answers the questions as an owner would, then loads the config it wrote,
reads the .env's mode and the `check` that ran at the end.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from dotenv import dotenv_values

from monitor.cli import cli
from monitor.config import load_config
from monitor.starter import Answers, env_line, render, template
from tests.terminal import Terminal

SLACK_URL = "https://hooks.slack.com/services/T000/B000/sEcReTsEcReT"
NAME_QUESTION = "as people write it: "
OTHERS_QUESTION = "(Enter for none): "
SOURCES_QUESTION = "Numbers, separated by commas [1]: "
CHANNEL_QUESTION = "Number [4]: "
SECRET = "(not shown as you type): "


def start(tmp_path: Path, *args: str) -> Terminal:
    return Terminal("init", *args, cwd=tmp_path)


def brand_questions(term: Terminal, name: str = "Bean & Leaf", others: str = "") -> None:
    term.expect(NAME_QUESTION)
    term.send(name)
    term.expect(OTHERS_QUESTION)
    term.send(others)


def test_slack_and_a_feed(tmp_path: Path) -> None:
    term = start(tmp_path, "shop.yaml")
    brand_questions(term, others="@beanleaf, #beanandleaf, Bean and Leaf")
    term.expect(SOURCES_QUESTION)
    term.send("1, 9")  # a wrong number is asked again
    term.expect("write numbers from 1 to 6")
    term.expect(SOURCES_QUESTION)
    term.send("1,2")
    term.expect("Feed addresses, separated by commas: ")
    term.send("www.google.com/alerts/feeds/1/2")
    term.expect("write the whole address, starting with https://")
    term.send("https://www.google.com/alerts/feeds/123/456")
    term.expect(CHANNEL_QUESTION)
    term.send("1")
    term.expect(SECRET)
    term.send(SLACK_URL)
    assert term.wait() == 0, term.output
    screen = term.output
    assert SLACK_URL not in screen and "sEcReT" not in screen  # typed unseen, never echoed
    assert "got it (55 characters)" in screen

    config_file, env_file = tmp_path / "shop.yaml", tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert dotenv_values(env_file) == {"SLACK_WEBHOOK_URL": SLACK_URL}
    text = config_file.read_text()
    assert SLACK_URL not in text and "webhook_url: ${SLACK_WEBHOOK_URL}" in text
    assert "# Where to look." in text and "# Who to warn." in text  # the template's comments
    assert "Roastery Lane" not in text  # the sample brands are gone
    config = load_config(config_file)
    (brand,) = config.brands
    assert brand.name == "Bean & Leaf"
    assert brand.keywords == ["Bean & Leaf", "@beanleaf", "#beanandleaf", "Bean and Leaf"]
    assert list(config.sources) == ["hackernews", "rss"]
    assert config.sources["rss"].feeds[0].brand == "Bean & Leaf"
    assert [c.type for c in config.channels] == ["console", "slack"]
    assert config.channels[1].webhook_url.get_secret_value() == SLACK_URL
    # ...and `check` ran on it, reading the secret from the .env
    assert f"Wrote shop.yaml and {env_file.name}" in screen
    assert "Config OK: shop.yaml" in screen
    assert f"Secrets also read from: {env_file}" in screen
    assert "mode 6" not in screen  # no warning: only the owner can read it
    assert "webhook_url: **** (${SLACK_WEBHOOK_URL})" in screen
    assert "1 feed (1 brand-specific)" in screen
    assert "mention-monitor run -c shop.yaml" in screen


def test_email_with_ssl(tmp_path: Path) -> None:
    term = start(tmp_path)
    brand_questions(term, name="Acme Bikes")
    term.expect(SOURCES_QUESTION)
    term.send("")
    term.expect(CHANNEL_QUESTION)
    term.send("2")
    term.expect("SMTP server: ")
    term.send("smtp.mail.example")
    term.expect("[587]: ")
    term.send("465")
    term.expect("(often your address; Enter for none): ")
    term.send("shop@example.com")
    term.expect("Password " + SECRET)
    term.send("pa'ss w$rd")
    term.expect("[shop@example.com]: ")  # send from: the user name, suggested
    term.send("")
    term.expect("Send alerts to [shop@example.com]: ")
    term.send("owner@example.com")
    assert term.wait() == 0, term.output
    assert "pa'ss" not in term.output
    env = dotenv_values(tmp_path / ".env")
    assert env == {"SMTP_PASSWORD": "pa'ss w$rd"}
    config = load_config(tmp_path / "config.yaml")
    email = config.channels[1]
    assert (email.host, email.port, email.security) == ("smtp.mail.example", 465, "ssl")
    assert email.username == "shop@example.com"
    assert email.password.get_secret_value() == "pa'ss w$rd"
    assert (email.from_, email.to) == ("shop@example.com", ["owner@example.com"])
    assert list(config.sources) == ["hackernews"]


def test_telegram_and_sources_with_keys(tmp_path: Path) -> None:
    term = start(tmp_path)
    brand_questions(term, name="Acme Coffee", others="@acmecoffee")
    term.expect(SOURCES_QUESTION)
    term.send("3, 5, 6")
    term.expect("Which Mastodon server [https://mastodon.social]: ")
    term.send("")
    term.expect("(like acmecoffee.bsky.social): ")
    term.send("@acmecoffee.bsky.social")
    term.expect("The app password " + SECRET)
    term.send("abcd-efgh-ijkl-mnop")
    term.expect("The bearer token " + SECRET)
    term.send("AAAAbearer")
    term.expect(CHANNEL_QUESTION)
    term.send("3")
    term.expect("The bot token " + SECRET)
    term.send("not a token")
    term.expect("a bot token looks like")
    term.expect(SECRET)
    term.send("123456789:AAE-bot_token")
    term.expect("Your chat id (a number): ")
    term.send("987654321")
    assert term.wait() == 0, term.output
    env = dotenv_values(tmp_path / ".env")
    assert env == {
        "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop",
        "X_BEARER_TOKEN": "AAAAbearer",
        "TELEGRAM_BOT_TOKEN": "123456789:AAE-bot_token",
    }
    text = (tmp_path / "config.yaml").read_text()
    assert 'urls: ["tgram://${TELEGRAM_BOT_TOKEN}/987654321"]' in text
    config = load_config(tmp_path / "config.yaml")
    assert list(config.sources) == ["mastodon", "bluesky", "x"]
    assert config.sources["bluesky"].handle == "acmecoffee.bsky.social"
    assert config.channels[1].type == "apprise" and config.channels[1].name == "telegram"
    for secret in env.values():
        assert secret is not None and secret not in term.output


def test_an_existing_config_and_env_are_changed_only_after_asking(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("# mine\n")
    (tmp_path / ".env").write_text("OTHER=kept\nSLACK_WEBHOOK_URL=https://old.example/hook\n")
    (tmp_path / ".env").chmod(0o600)
    refused = start(tmp_path)
    refused.expect("config.yaml already exists. Replace it? [y/N]: ")
    refused.send("")
    assert refused.wait() == 2
    assert (tmp_path / "config.yaml").read_text() == "# mine\n"

    term = start(tmp_path)
    term.expect("Replace it? [y/N]: ")
    term.send("y")
    brand_questions(term)
    term.expect(SOURCES_QUESTION)
    term.send("")
    term.expect(CHANNEL_QUESTION)
    term.send("1")
    term.expect(SECRET)
    term.send(SLACK_URL)
    term.expect("already exists. Add the new secrets to it (its other lines are kept)? [Y/n]: ")
    term.send("")
    term.expect("SLACK_WEBHOOK_URL is already in it. Replace its value? [y/N]: ")
    term.send("y")
    assert term.wait() == 0, term.output
    assert dotenv_values(tmp_path / ".env") == {"OTHER": "kept", "SLACK_WEBHOOK_URL": SLACK_URL}
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    assert load_config(tmp_path / "config.yaml").brands[0].name == "Bean & Leaf"


@pytest.mark.parametrize("at", ["name", "secret"])
def test_ctrl_c_leaves_no_file(tmp_path: Path, at: str) -> None:
    term = start(tmp_path)
    if at == "secret":
        brand_questions(term)
        term.expect(SOURCES_QUESTION)
        term.send("")
        term.expect(CHANNEL_QUESTION)
        term.send("1")
        term.expect(SECRET)
    else:
        term.expect(NAME_QUESTION)
        term.type("Half a na")  # half typed, no Enter
    term.ctrl_c()
    assert term.wait() == 1
    assert "Aborted!" in term.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_without_a_terminal_it_writes_the_template(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "init", "shop.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "shop.yaml").read_text() == template()
    assert not (tmp_path / ".env").exists()
    assert "Edit the brands, then run: mention-monitor check -c shop.yaml" in proc.stdout
    again = CliRunner().invoke(cli, ["init", str(tmp_path / "shop.yaml")])
    assert again.exit_code == 2 and "already exists; not overwriting it" in again.output


def test_no_input_in_a_terminal_writes_the_template(tmp_path: Path) -> None:
    term = start(tmp_path, "--no-input")
    assert term.wait() == 0, term.output
    assert "?" not in term.output.split("Wrote")[0]  # nothing was asked
    assert (tmp_path / "config.yaml").read_text() == template()


def test_the_rendered_template_keeps_every_comment_of_the_parts_it_keeps() -> None:
    answers = Answers(brand='Quote "Shop"', keywords=['Quote "Shop"', "$QUOTE"])
    text = render(answers)
    kept = [line for line in template().splitlines() if line.startswith("#")]
    assert kept == [line for line in text.splitlines() if line.startswith("#")]
    assert '  - name: "Quote \\"Shop\\""' in text


@pytest.mark.parametrize(
    "value", ["plain-value_1.2/3:@+", "with space", "it's", "a'b\"c\\d", "$HOME", "pa$$w{rd}", "#x"]
)
def test_env_lines_read_back_exactly(tmp_path: Path, value: str) -> None:
    (tmp_path / ".env").write_text(env_line("V", value) + "\n")
    assert dotenv_values(tmp_path / ".env") == {"V": value}
