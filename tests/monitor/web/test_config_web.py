"""The `web:` section: defaults, HOST:PORT, public_url, and no open inbox beyond loopback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import is_loopback, load_config, parse_config, split_listen
from monitor.errors import ConfigError
from monitor.redact import redact

BASE = """
brands:
  - name: Acme
    keywords: [Acme]
sources:
  hackernews: {}
"""


def parse(web: str, **kwargs: bool) -> object:
    return parse_config(BASE + textwrap.dedent(web), **kwargs)  # type: ignore[arg-type]


def problems(web: str, **kwargs: bool) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(web, **kwargs)
    return caught.value.problems


def test_defaults_serve_this_machine_only_without_a_password() -> None:
    web = parse_config(BASE).web
    assert (web.enabled, web.listen, web.host, web.port) == (
        True,
        "127.0.0.1:8080",
        "127.0.0.1",
        8080,
    )
    assert web.public_url is None and web.password is None and web.api_token is None
    assert web.root_path == "" and web.exposure_problem() is None


def test_listening_beyond_loopback_without_a_password_is_refused_with_its_line() -> None:
    found = problems(
        """
        web:
          listen: 0.0.0.0:8080
        """
    )
    assert len(found) == 1
    assert found[0].startswith("config.yaml:9: web.listen: 0.0.0.0:8080 can be reached")
    assert "web.password is not set" in found[0]


def test_with_a_password_or_disabled_it_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MM_PW", "a long enough password")
    web = parse(
        """
        web:
          listen: "[::]:8443"
          password: ${MM_PW}
        """
    ).web  # type: ignore[attr-defined]
    assert (web.host, web.port) == ("::", 8443)
    assert web.password.get_secret_value() == "a long enough password"
    assert "a long enough password" not in repr(web)
    assert redact("said a long enough password") == "said [secret]"  # never in a log line
    parse("web:\n  enabled: false\n  listen: 0.0.0.0:8080\n")


def test_an_unset_password_is_named_and_read_only_commands_do_without_it() -> None:
    web = """
    web:
      listen: 0.0.0.0:8080
      password: ${MM_UNSET_PASSWORD}
      api_token: ${MM_UNSET_TOKEN}
    """
    found = problems(web)
    assert any(
        "web.password: environment variable MM_UNSET_PASSWORD is not set" in p for p in found
    )
    assert not any("can be reached" in p for p in found)  # one problem, not two
    # `mentions ack`, `stats`: no inbox served, so no inbox secret needed.
    config = parse(web, secrets=False)
    assert config.web.password is None  # type: ignore[attr-defined]
    assert "inbox password: MM_UNSET_PASSWORD is not set" in config.left_out  # type: ignore[attr-defined]
    # `mention-monitor web` serves it: the password is required again.
    found = problems(web, secrets=False, web_secrets=True)
    assert any("MM_UNSET_PASSWORD is not set" in p for p in found)


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("8080", "is not HOST:PORT"),
        ("localhost:http", "is not HOST:PORT"),
        ("127.0.0.1:70000", "is not HOST:PORT"),
        (":8080", "is not HOST:PORT"),
    ],
)
def test_listen_must_be_host_and_port(listen: str, message: str) -> None:
    found = problems(f"web:\n  listen: '{listen}'\n")
    assert len(found) == 1 and found[0].startswith("config.yaml:8: web.listen:")
    assert message in found[0]


def test_public_url_gives_the_path_prefix_and_https() -> None:
    web = parse("web:\n  public_url: https://shop.example/tools/monitor/\n").web  # type: ignore[attr-defined]
    assert web.public_url == "https://shop.example/tools/monitor"
    assert web.root_path == "/tools/monitor" and web.https
    plain = parse("web:\n  public_url: http://10.0.0.5:8080\n").web  # type: ignore[attr-defined]
    assert plain.root_path == "" and not plain.https
    for bad in ("shop.example/monitor", "ftp://shop.example", "https://shop.example/?x=1"):
        found = problems(f"web:\n  public_url: '{bad}'\n")
        assert found[0].startswith("config.yaml:8: web.public_url:"), found


def test_a_short_password_and_unknown_keys_are_problems() -> None:
    found = problems("web:\n  password: abc\n  pasword: x\n")
    assert any("web.password: is too short" in p for p in found)
    assert any("web.pasword: is not a setting here; did you mean `password`?" in p for p in found)


def test_loopback_is_only_this_machine() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "shop.example"))
    assert split_listen("[::1]:80") == ("::1", 80)


def test_the_example_config_has_a_working_web_section() -> None:
    root = Path(__file__).resolve().parents[3]
    config = load_config(root / "config.yaml", secrets=False)
    assert config.web.enabled and config.web.listen == "127.0.0.1:8080"
