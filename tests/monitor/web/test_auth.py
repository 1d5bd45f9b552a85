"""Who may use the inbox: login, sessions, CSRF, the rate limit, the headers, the secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from monitor.config import Config
from monitor.store import Store
from monitor.web.auth import LoginLimiter, PasswordCheck, safe_next
from tests.monitor.web.conftest import API_TOKEN, PASSWORD, AppMaker, csrf_of, log_in, make_config

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def test_logged_out_pages_redirect_to_login_with_the_way_back(inbox: TestClient) -> None:
    for path in ("/", "/mentions/1", "/sources", "/alerts", "/mentions/1/ack"):
        answer = inbox.get(path + "?x=1", follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=" + path.replace("/", "%2F"))
    assert inbox.get("/login").status_code == 200


def test_the_right_password_logs_in_and_logout_is_a_post(inbox: TestClient) -> None:
    log_in(inbox)
    assert inbox.get("/", follow_redirects=False).status_code == 200
    assert inbox.get("/logout").status_code == 405  # never on a GET: link previews follow links
    page = inbox.get("/sources")
    out = inbox.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert inbox.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused(inbox: TestClient) -> None:
    page = inbox.get("/login")
    answer = inbox.post("/login", data={"password": "guess", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 401
    assert "That password is not right." in answer.text
    assert inbox.get("/", follow_redirects=False).status_code == 303


def test_login_is_rate_limited_per_address(inbox: TestClient) -> None:
    token = csrf_of(inbox.get("/login").text)
    for _ in range(5):
        assert inbox.post("/login", data={"password": "no", "csrf_token": token}).status_code == 401
    blocked = inbox.post("/login", data={"password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["retry-after"]) <= 300
    assert "Too many wrong passwords" in blocked.text
    assert inbox.get("/", follow_redirects=False).status_code == 303  # still logged out


def test_a_logged_out_post_changes_nothing_and_asks_for_the_login(
    inbox: TestClient, inbox_store: Store
) -> None:
    answer = inbox.post("/mentions/1/status", data={"status": "ignored"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2F"
    assert inbox_store.status_changes(1) == []


def test_a_huge_form_is_refused(logged_in: TestClient, inbox_store: Store) -> None:
    token = csrf_of(logged_in.get("/").text)
    data = {"status": "resolved", "note": "x" * 70_000, "csrf_token": token}
    answer = logged_in.post("/mentions/1/status", data=data)
    assert answer.status_code == 413 and inbox_store.status_changes(1) == []


def test_the_limiter_forgets_old_failures() -> None:
    limiter = LoginLimiter(max_failures=2, window=timedelta(minutes=5))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    limiter.failed("1.2.3.4", t0)
    limiter.failed("1.2.3.4", t0 + timedelta(minutes=1))
    assert limiter.retry_after("1.2.3.4", t0 + timedelta(minutes=2)) == 180
    assert limiter.retry_after("5.6.7.8", t0 + timedelta(minutes=2)) is None
    assert limiter.retry_after("1.2.3.4", t0 + timedelta(minutes=5, seconds=1)) is None


def test_login_needs_its_csrf_token(inbox: TestClient) -> None:
    inbox.get("/login")
    answer = inbox.post("/login", data={"password": PASSWORD})
    assert answer.status_code == 403
    assert "nothing was changed" in answer.text


def test_a_post_without_or_with_a_wrong_csrf_token_changes_nothing(
    logged_in: TestClient, inbox_store: Store
) -> None:
    for data in ({"status": "acknowledged"}, {"status": "acknowledged", "csrf_token": "x" * 43}):
        answer = logged_in.post("/mentions/1/status", data=data, follow_redirects=False)
        assert answer.status_code == 403
        assert "did not come from the inbox" in answer.text
    assert inbox_store.mention(1).status == "new"  # type: ignore[union-attr]
    assert inbox_store.status_changes(1) == []


def test_a_token_from_another_session_is_refused(
    make_client: AppMaker, inbox_config: Config, inbox_store: Store
) -> None:
    one, two = make_client(inbox_config), make_client(inbox_config)
    log_in(one)
    log_in(two)
    stolen = csrf_of(two.get("/sources").text)
    answer = one.post("/mentions/1/status", data={"status": "ignored", "csrf_token": stolen})
    assert answer.status_code == 403
    assert inbox_store.mention(1).status == "new"  # type: ignore[union-attr]


def test_security_headers_on_every_answer(inbox: TestClient) -> None:
    answers = [
        inbox.get("/login"),
        inbox.get("/", follow_redirects=False),
        inbox.get("/static/app.css"),
        inbox.get("/healthz"),
        inbox.get("/no-such-page"),
        inbox.post("/login", data={}),
    ]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CSP, answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    assert answers[0].headers["cache-control"] == "no-store"


def test_the_session_cookie_is_httponly_and_lax(inbox: TestClient) -> None:
    cookie = inbox.get("/login").headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_behind_https_the_cookie_is_secure_and_scoped_to_the_prefix(
    tmp_path: Path, make_client: AppMaker
) -> None:
    config = make_config(
        tmp_path,
        f"""
        web:
          password: {PASSWORD}
          public_url: https://shop.example/monitor/
        """,
    )
    assert config.web.public_url == "https://shop.example/monitor"
    client = make_client(config, root_path="/monitor", base_url="https://shop.example")
    cookie = client.get("/monitor/login").headers["set-cookie"].lower()
    assert "secure" in cookie and "path=/monitor" in cookie


def test_no_password_on_loopback_is_open(tmp_path: Path, make_client: AppMaker) -> None:
    client = make_client(make_config(tmp_path))
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.get("/login", follow_redirects=False).status_code == 303
    assert "Log out" not in client.get("/sources").text


def test_an_open_inbox_answers_only_to_this_machines_names(
    tmp_path: Path, make_client: AppMaker
) -> None:
    config = make_config(tmp_path)
    for base in ("http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"):
        assert make_client(config, base_url=base).get("/").status_code == 200, base
    # DNS rebinding: a page at attacker.example points its name at 127.0.0.1.
    rebound = make_client(config, base_url="http://attacker.example:8080")
    for answer in (rebound.get("/"), rebound.get("/mentions/1"), rebound.post("/logout")):
        assert answer.status_code == 421
        assert "Acme Coffee" not in answer.text and "csrf_token" not in answer.text
    assert rebound.get("/healthz").status_code == 200
    # With a password the session is the guard: any name the owner uses is fine.
    assert (
        make_client(make_config(tmp_path, WEB_PW), base_url="http://shop.lan")
        .get("/login")
        .status_code
        == 200
    )


WEB_PW = f"""
web:
  listen: 0.0.0.0:8080
  password: {PASSWORD}
"""


def test_secrets_never_reach_a_page(logged_in: TestClient) -> None:
    pages = [
        *("/", "/?view=all", "/mentions/1", "/mentions/2", "/mentions/1/ack"),
        *("/sources", "/alerts", "/login", "/export.csv", "/export.json", "/healthz"),
    ]
    for path in pages:
        text = logged_in.get(path).text
        assert PASSWORD not in text and API_TOKEN not in text, path


def test_the_password_is_kept_only_as_a_salted_hash() -> None:
    one, two = PasswordCheck(PASSWORD), PasswordCheck(PASSWORD)
    assert one.matches(PASSWORD) and not one.matches(PASSWORD + " ")
    assert PASSWORD not in repr(one) and PASSWORD.encode() not in one._hash
    assert one._hash != two._hash  # a random salt each time


def test_next_stays_on_this_site() -> None:
    assert safe_next("/mentions/3?x=1") == "/mentions/3?x=1"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil.example", None, "", "x"):
        assert safe_next(bad) == "/"


def test_after_login_the_owner_lands_where_they_were_going(inbox: TestClient) -> None:
    page = inbox.get("/login?next=%2Fmentions%2F1")
    assert 'value="/mentions/1"' in page.text
    answer = inbox.post(
        "/login",
        data={"password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/mentions/1"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/mentions/1"
