"""The Trustpilot source against a loopback stand-in of its Business Units API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError

from connectors.base import MemoryState
from connectors.trustpilot import TrustpilotConfig, TrustpilotConnector
from monitor.cli import cli
from monitor.config import load_config
from monitor.errors import AuthError, ConfigError, ConnectorError, RateLimited
from monitor.redact import REDACTOR, Redactor, remember_config
from tests.standins.server import Response, StandIn
from tests.standins.trustpilot import Review, TrustpilotAPI, Unit, ago

KEY = "tp-key-7f3a9c21e8b44d0f"
OTHER_KEY = "tp-key-of-another-business-99"


@pytest.fixture
def unit() -> Unit:
    return Unit("acme-coffee.example", name="Acme Coffee", keys={KEY})


@pytest.fixture
def api(unit: Unit) -> TrustpilotAPI:
    other = Unit("someone-else.example", keys={OTHER_KEY})
    return TrustpilotAPI([unit, other])


@pytest.fixture
def server(api: TrustpilotAPI) -> Iterator[StandIn]:
    with StandIn(api) as s:
        yield s


def connector(
    server: StandIn,
    client: httpx.Client,
    units: list[dict[str, str]],
    state: MemoryState | None = None,
    **extra: object,
) -> TrustpilotConnector:
    config = TrustpilotConfig.model_validate(
        {"base_url": server.url, "api_key": KEY, "business_units": units, **extra}
    )
    return TrustpilotConnector(config, client, state)


def by_id(unit: Unit) -> list[dict[str, str]]:
    return [{"id": unit.id, "brand": "Acme Coffee"}]


# ---------------------------------------------------------------- parsing


def test_a_review_becomes_an_own_page_mention_with_its_stars(
    unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    review = Review(1, "Nice staff. Cold coffee.", "Meh", ago(hours=2), author="Bob K.")
    unit.reviews.append(review)
    mentions, cursor = connector(server, client, by_id(unit)).fetch(["Acme"], None)
    [m] = mentions
    assert m.external_id == review.id
    assert m.url == f"https://www.trustpilot.com/reviews/{review.id}"
    assert (m.author, m.title, m.text) == ("Bob K.", "Meh", "Nice staff. Cold coffee.")
    assert m.rating == 1.0 and m.own_page and m.brand_hint == "Acme Coffee"
    assert m.edited_at is None and m.owner_replied_at is None
    assert m.author_followers is None  # numberOfReviews is not reach
    assert abs(m.created_at - review.created) < timedelta(seconds=1)
    assert cursor and review.id in json.loads(cursor)["units"][unit.id]["seen"]
    request = server.requests[-1]
    assert request.params == {"orderBy": "createdat.desc", "perPage": "100", "page": "1"}
    assert request.headers["apikey"] == KEY


def test_keywords_do_not_filter_an_own_page(
    unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    unit.reviews.append(Review(5, "Best flat white in town"))
    mentions, _ = connector(server, client, by_id(unit)).fetch(["Nobody-Says-This"], None)
    assert len(mentions) == 1


def test_hostile_text_is_kept_as_text_and_bad_items_are_skipped(
    unit: Unit, api: TrustpilotAPI, server: StandIn, client: httpx.Client
) -> None:
    unit.reviews.append(Review(2, "<script>alert(1)</script> \ud83d awful", "<b>bad</b>"))
    good = Review(4, "fine")
    unit.reviews.append(good)
    broken = Review(3, "no date")
    unit.reviews.append(broken)
    original = api._reviews

    def with_broken(u: Unit, request: object) -> Response:
        response = original(u, request)  # type: ignore[arg-type]
        for item in response.body["reviews"]:
            if item["id"] == broken.id:
                del item["createdAt"]
            if item["id"] == good.id:
                item["stars"] = 11  # out of range: no rating, the review is kept
        return response

    api._reviews = with_broken  # type: ignore[method-assign]
    mentions, _ = connector(server, client, by_id(unit)).fetch([], None)
    texts = {m.text: m for m in mentions}
    assert set(texts) == {"<script>alert(1)</script> \ufffd awful", "fine"}
    assert texts["fine"].rating is None
    assert texts["<script>alert(1)</script> \ufffd awful"].title == "<b>bad</b>"


# ---------------------------------------------------------------- edits and replies


def test_an_edited_review_comes_again_and_an_unchanged_one_does_not(
    unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    review = Review(4, "Lovely", created=ago(hours=1))
    unit.reviews.append(review)
    conn = connector(server, client, by_id(unit))
    first, cursor = conn.fetch([], None)
    assert [m.rating for m in first] == [4.0]
    again, cursor = conn.fetch([], cursor)
    assert again == []
    review.edit(stars=1, text="They never refunded me")
    edited, cursor = conn.fetch([], cursor)
    [m] = edited
    assert m.external_id == review.id and m.rating == 1.0 and m.text == "They never refunded me"
    assert m.edited_at is not None and m.edited_at > m.created_at
    assert conn.fetch([], cursor)[0] == []


def test_an_owner_reply_brings_the_review_again_with_its_time(
    unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    review = Review(1, "Rude staff", created=ago(hours=3))
    unit.reviews.append(review)
    conn = connector(server, client, by_id(unit))
    _, cursor = conn.fetch([], None)
    review.answer("Sorry, please call us")
    [m], cursor = conn.fetch([], cursor)
    assert m.owner_replied_at is not None and m.rating == 1.0
    first_reply = m.owner_replied_at
    review.answer("We refunded you, thank you for telling us")
    [m], _ = conn.fetch([], cursor)
    assert m.owner_replied_at is not None and m.owner_replied_at >= first_reply


def test_first_poll_keeps_only_the_lookback_but_remembers_the_rest(
    unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    old = Review(2, "old complaint", created=ago(days=30))
    unit.reviews += [old, Review(5, "new praise", created=ago(hours=1))]
    conn = connector(server, client, by_id(unit))
    mentions, cursor = conn.fetch([], None)
    assert [m.text for m in mentions] == ["new praise"]
    old.edit(stars=1)  # an edit is news, however old the review
    [m], _ = conn.fetch([], cursor)
    assert m.external_id == old.id and m.rating == 1.0


def test_a_burst_is_read_page_by_page_and_nothing_seen_comes_again(
    unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    unit.reviews += [Review(3, f"before {i}", created=ago(hours=5, minutes=i)) for i in range(5)]
    conn = connector(server, client, by_id(unit))
    _, cursor = conn.fetch([], None)
    burst = [Review(1, f"burst {i}", created=ago(minutes=240 - i)) for i in range(230)]
    unit.reviews += burst
    server.requests.clear()
    mentions, cursor = conn.fetch([], cursor)
    assert {m.text for m in mentions} == {r.text for r in burst}
    assert [r.params["page"] for r in server.requests] == ["1", "2", "3"]
    assert conn.behind is None
    server.requests.clear()
    assert conn.fetch([], cursor)[0] == []
    assert [r.params["page"] for r in server.requests] == ["1"]  # recheck_pages: 1


def test_max_pages_cuts_a_long_catch_up_and_says_so(
    unit: Unit, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    unit.reviews.append(Review(3, "seen", created=ago(hours=6)))
    conn = connector(server, client, by_id(unit), max_pages=2)
    _, cursor = conn.fetch([], None)
    unit.reviews += [Review(2, f"new {i}", created=ago(minutes=300 - i)) for i in range(250)]
    with caplog.at_level(logging.WARNING):
        mentions, _ = conn.fetch([], cursor)
    assert len(mentions) == 200
    assert conn.behind is not None
    assert "raise max_pages" in caplog.text


# ---------------------------------------------------------------- domains, errors, check


def test_a_domain_is_looked_up_once_and_remembered(
    unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    unit.reviews.append(Review(2, "slow"))
    state = MemoryState()
    conn = connector(server, client, [{"domain": "acme-coffee.example", "brand": "A"}], state)
    mentions, cursor = conn.fetch([], None)
    assert [m.brand_hint for m in mentions] == ["A"]
    assert state.get("unit:acme-coffee.example") == unit.id
    server.requests.clear()
    conn.fetch([], cursor)
    assert [r.path for r in server.requests] == [f"/v1/business-units/{unit.id}/reviews"]


def test_an_unknown_domain_or_unit_is_named_with_the_fix(
    server: StandIn, client: httpx.Client
) -> None:
    conn = connector(server, client, [{"domain": "nope.example", "brand": "A"}])
    with pytest.raises(ConnectorError) as info:
        conn.fetch([], None)
    assert "no business unit for the domain nope.example" in str(info.value)
    assert info.value.hint and "trustpilot.com/review/" in info.value.hint
    conn = connector(server, client, [{"id": "ffffffffffffffffffffffff", "brand": "A"}])
    with pytest.raises(ConnectorError) as info:
        conn.fetch([], None)
    assert "knows no business unit ffffffffffffffffffffffff" in str(info.value)


def test_a_key_of_another_business_is_refused_with_403_and_its_fix(
    api: TrustpilotAPI, server: StandIn, client: httpx.Client
) -> None:
    other = next(u for u in api.units.values() if u.domain == "someone-else.example")
    conn = connector(server, client, by_id(other))
    with pytest.raises(AuthError) as info:
        conn.fetch([], None)
    assert "HTTP 403" in info.value.message
    assert info.value.hint and "owns this page" in info.value.hint


def test_a_wrong_key_is_401_and_never_shown(
    unit: Unit, server: StandIn, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    redactor = Redactor()
    config = TrustpilotConfig.model_validate(
        {"base_url": server.url, "api_key": "wrong-key-0000-1111", "business_units": by_id(unit)}
    )
    remember_config([config], [], "sqlite://", redactor)
    remember_config([config], [], "sqlite://")
    try:
        with pytest.raises(AuthError) as info:
            TrustpilotConnector(config, client).fetch([], None)
        server.fail_next(Response(500, {"echo": "apikey=wrong-key-0000-1111"}))
        with pytest.raises(ConnectorError) as failed:
            TrustpilotConnector(config, client).fetch([], None)
    finally:
        REDACTOR.clear()
    assert "HTTP 401" in str(info.value) and "TRUSTPILOT_API_KEY" in str(info.value)
    for text in (str(info.value), str(failed.value), repr(config), caplog.text):
        assert "wrong-key-0000-1111" not in text
    assert "wrong-key-0000-1111" not in redactor("apikey=wrong-key-0000-1111")
    assert all("apikey" not in r.params for r in server.requests)  # never in a URL


def test_429_carries_retry_after(
    api: TrustpilotAPI, unit: Unit, server: StandIn, client: httpx.Client
) -> None:
    api.rate_limit = 0
    with pytest.raises(RateLimited) as info:
        connector(server, client, by_id(unit)).fetch([], None)
    assert info.value.retry_after == 60


def test_one_failing_unit_does_not_hide_the_other(
    unit: Unit, api: TrustpilotAPI, server: StandIn, client: httpx.Client
) -> None:
    unit.reviews.append(Review(1, "awful"))
    units = [*by_id(unit), {"id": "ffffffffffffffffffffffff", "brand": "B"}]
    mentions, cursor = connector(server, client, units).fetch([], None)
    assert [m.text for m in mentions] == ["awful"]
    assert list(json.loads(cursor or "{}")["units"]) == [unit.id]


def test_check_offline_and_online(unit: Unit, server: StandIn, client: httpx.Client) -> None:
    conn = connector(server, client, [{"domain": "acme-coffee.example", "brand": "Acme"}])
    assert conn.check() == ["API key set (TRUSTPILOT_API_KEY); 1 business unit"]
    assert server.requests == []
    lines = conn.check(online=True)
    assert f"id {unit.id}" in lines[1] and "accepted the API key" in lines[1]
    assert server.requests[-1].params["perPage"] == "1"
    config = conn.config.model_copy(update={"api_key": SecretStr("nope")})
    with pytest.raises(AuthError):
        TrustpilotConnector(config, client).check(online=True)


def test_cli_check_online_names_the_unit_or_explains_the_refusal(
    unit: Unit, server: StandIn, tmp_path: Path
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "database: sqlite:///mentions.db\n"
        "brands:\n  - name: Acme Coffee\n    keywords: [Acme]\n"
        f"sources:\n  trustpilot:\n    base_url: {server.url}\n"
        "    api_key: ${TRUSTPILOT_API_KEY}\n"
        "    business_units:\n      - domain: acme-coffee.example\n        brand: Acme Coffee\n"
    )
    runner = CliRunner()
    args = ["check", "-c", str(path), "--online"]
    wrong = "tp-wrong-key-5551234"
    refused = runner.invoke(cli, args, env={"TRUSTPILOT_API_KEY": wrong})
    assert refused.exit_code == 1, refused.output
    assert "HTTP 401" in refused.output and "Integrations" in refused.output
    assert wrong not in refused.output
    accepted = runner.invoke(cli, args, env={"TRUSTPILOT_API_KEY": KEY})
    assert accepted.exit_code == 0, accepted.output
    assert f"acme-coffee.example (id {unit.id}, brand Acme Coffee)" in accepted.output


# ---------------------------------------------------------------- config


def test_config_needs_one_of_id_or_domain_and_no_unit_twice() -> None:
    base = {"api_key": KEY}
    with pytest.raises(ValidationError, match="either `id` or `domain`"):
        TrustpilotConfig.model_validate({**base, "business_units": [{"brand": "A"}]})
    twice = [{"domain": "a.example", "brand": "A"}, {"domain": "A.example", "brand": "B"}]
    with pytest.raises(ValidationError, match="listed twice"):
        TrustpilotConfig.model_validate({**base, "business_units": twice})
    with pytest.raises(ValidationError):
        TrustpilotConfig.model_validate(
            {**base, "business_units": [{"id": "x/../y", "brand": "A"}]}
        )


def test_a_unit_of_an_unknown_brand_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTPILOT_API_KEY", KEY)
    path = tmp_path / "config.yaml"
    path.write_text(
        "brands:\n  - name: Acme Coffee\n    keywords: [Acme]\n"
        "sources:\n  trustpilot:\n    api_key: ${TRUSTPILOT_API_KEY}\n"
        "    business_units:\n      - domain: acme-coffee.example\n        brand: Acme Cofee\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "unknown brand 'Acme Cofee'" in str(info.value)
    assert "did you mean 'Acme Coffee'" in str(info.value)
