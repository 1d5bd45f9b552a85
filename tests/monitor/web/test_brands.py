"""The brand pages and the mention page's spread chart, through ``create_app`` with
Starlette's test client, logged in, over a known month written through the real Store."""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from monitor.config import Config, parse_config
from monitor.store import Store
from monitor.web import create_app
from tests.monitor.brand_data import BRAND, NEGATIVE, NOW, OTHER, Month, add, write_month
from tests.monitor.web.conftest import PASSWORD, log_in

HOSTILE = "<img src=x onerror=alert(1)> <script>alert(2)</script> worst ever"
SVG = "{http://www.w3.org/2000/svg}"


def config_for(tmp_path: Path, web: str = f"web:\n  password: {PASSWORD}\n") -> Config:
    text = f"""
    database: sqlite:///{tmp_path / "brands.db"}
    brands:
      - name: {BRAND}
        keywords: ["Acme Coffee"]
      - name: "{OTHER}"
        keywords: ["other brand"]
      - name: Quiet Tea
        keywords: ["quiet tea"]
    sources:
      hackernews: {{}}
    """
    return parse_config(textwrap.dedent(text).lstrip() + web, base_dir=tmp_path)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, Store, Month]]:
    config = config_for(tmp_path)
    store = Store(config.database)
    month = write_month(config, store)
    month.ids["hostile"] = add(
        store, "hostile", brand=OTHER, posted=NOW - month_days(2), score=NEGATIVE, text=HOSTILE
    )
    with TestClient(create_app(config, store, clock=lambda: NOW)) as client:
        log_in(client)
        yield client, store, month
    store.close()


def month_days(n: int) -> object:
    from datetime import timedelta

    return timedelta(days=n)


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", page, re.S)]


def with_class(svg: ET.Element, css: str) -> list[ET.Element]:
    return [e for e in svg.iter() if css in (e.get("class") or "").split()]


def url(name: str) -> str:
    return "/brands/" + quote(name, safe="")


def test_the_brand_pages_need_a_login(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    store = Store(config.database)
    try:
        with TestClient(create_app(config, store, clock=lambda: NOW)) as client:
            for path in ("/brands", url(BRAND)):
                answer = client.get(path, follow_redirects=False)
                assert answer.status_code == 303 and "/login" in answer.headers["location"]
    finally:
        store.close()


def test_the_list_shows_every_brand_with_its_month(world: tuple[TestClient, Store, Month]) -> None:
    client, _, _ = world
    page = client.get("/brands")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    text = page.text
    assert f'href="{url(BRAND)}"' in text and f'href="{url(OTHER)}"' in text
    assert "Other &lt;Brand&gt;" in text and "<Brand>" not in text
    assert re.search(r"14 mentions,\s+9 negative \(64%\)", text)
    assert "/?brand=Acme+Coffee&amp;view=needs" in text and "7 still need an answer" in text
    charts = svgs(text)
    assert len(charts) == 2  # Quiet Tea has none: it says so instead
    assert all(len(with_class(c, "mentions")) == 30 for c in charts)
    assert len(with_class(charts[0], "spike")) == 1
    assert "No mentions of Quiet Tea in the last 30 days yet." in text
    assert "style=" not in text


def test_a_brand_page(world: tuple[TestClient, Store, Month]) -> None:
    client, _, month = world
    page = client.get(url(BRAND))
    assert page.status_code == 200
    text = page.text
    [chart] = svgs(text)
    assert chart.get("role") == "img"
    assert chart.get("aria-label", "").startswith(
        "Acme Coffee: mentions and negative mentions per day, last 30 days; spike on Mon 30 Nov"
    )
    assert len(with_class(chart, "point")) == 60
    [spike] = with_class(chart, "spike")
    assert spike.findtext(f"{SVG}title") == "Mon 30 Nov: spike of negative mentions"
    figures = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", text))
    assert figures["Mentions"] == "14"
    assert figures["Negative"] == "9 (64%)"
    assert "7</a>" in figures["Still need an answer"]
    assert figures["Median time from your alert to your answer"] == "2.0 h"
    assert figures["Median time from posting to alert"] == "30 min"
    rows = re.findall(
        r"<tr><td>(\w+)</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)", text
    )
    assert rows == [("hackernews", "10", "9"), ("reddit", "4", "0")]
    worst = re.findall(r'<a href="/mentions/(\d+)">', text)
    assert worst[0] == str(month.ids["open5"]) and len(worst) == 5
    assert "web.api_token" in text  # no token: no feed, and how to get one


def test_stranger_text_on_a_brand_page_is_escaped(world: tuple[TestClient, Store, Month]) -> None:
    client, _, month = world
    page = client.get(url(OTHER))
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert f'href="/mentions/{month.ids["hostile"]}"' in page.text
    [chart] = svgs(page.text)
    assert chart.get("aria-label", "").startswith(OTHER + ": mentions")


def test_an_unknown_brand_is_a_404_page(world: tuple[TestClient, Store, Month]) -> None:
    client, _, _ = world
    page = client.get(url("<b>Nobody</b>"))
    assert page.status_code == 404
    assert "No brand called" in page.text and "&lt;b&gt;Nobody&lt;/b&gt;" in page.text
    assert "<b>Nobody" not in page.text


def test_a_brand_with_a_slash_in_its_name(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    config.brands[2].name = "Tea/Coffee & Co"
    store = Store(config.database)
    try:
        add(store, "slash", brand="Tea/Coffee & Co", posted=NOW - month_days(1))  # type: ignore[arg-type]
        with TestClient(create_app(config, store, clock=lambda: NOW)) as client:
            log_in(client)
            assert url("Tea/Coffee & Co") in client.get("/brands").text.replace("&amp;", "&")
            page = client.get(url("Tea/Coffee & Co"))
            assert page.status_code == 200 and "Tea/Coffee &amp; Co" in page.text
    finally:
        store.close()


def test_the_feed_link_when_an_api_token_is_set(tmp_path: Path) -> None:
    web = f"web:\n  password: {PASSWORD}\n  api_token: tok-secret-123456\n"
    config = config_for(tmp_path, web)
    store = Store(config.database)
    try:
        write_month(config, store)
        with TestClient(create_app(config, store, clock=lambda: NOW)) as client:
            log_in(client)
            text = client.get(url(BRAND)).text
            token = re.search(r'href="/feeds/Acme%20Coffee.atom\?token=(\w+)"', text)
            assert token is not None
            feed = client.get(f"/feeds/Acme%20Coffee.atom?token={token[1]}")
            assert feed.status_code == 200 and "<feed" in feed.text
            assert "open5" in feed.text  # its negatives
        assert "tok-secret-123456" not in text
    finally:
        store.close()


def test_the_mention_page_draws_its_spread(world: tuple[TestClient, Store, Month]) -> None:
    client, _, month = world
    page = client.get(f"/mentions/{month.ids['open5']}")
    assert page.status_code == 200
    [chart] = [c for c in svgs(page.text) if "chart-spread" in (c.get("class") or "")]
    assert chart.get("role") == "img"
    assert chart.get("aria-label", "").startswith(
        f"Acme Coffee mention #{month.ids['open5']}: engagement over time, 4 readings; spreading"
    )
    assert len(with_class(chart, "point")) == 4  # as first seen, then three readings
    assert [m.get("class") for m in with_class(chart, "escalation")] == [
        "escalation escalation-spreading",
        "escalation escalation-viral",
    ]
    # A mention not followed (not negative) has no chart; the page says why.
    page = client.get(f"/mentions/{month.ids['first']}")
    assert "chart-spread" not in page.text


def test_under_a_path_prefix_the_links_keep_it(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    store = Store(config.database)
    try:
        write_month(config, store)
        with TestClient(create_app(config, store, clock=lambda: NOW), root_path="/monitor") as c:
            log_in(c, prefix="/monitor")
            text = c.get("/monitor/brands").text
            assert f'href="/monitor{url(BRAND)}"' in text
            assert 'href="/monitor/static/charts.css"' in text
            page = c.get("/monitor" + url(BRAND)).text
            assert re.search(r'href="/monitor/mentions/\d+"', page)
    finally:
        store.close()


def test_a_brand_without_mentions_says_so(world: tuple[TestClient, Store, Month]) -> None:
    client, _, _ = world
    page = client.get(url("Quiet Tea"))
    assert page.status_code == 200
    assert "No mentions of Quiet Tea in the last 30 days yet." in page.text
    assert "<svg" not in page.text
    figures = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text))
    assert figures["Mentions"] == "0" and figures["Negative"] == "0 (-)"
    assert figures["Median time from your alert to your answer"] == "-"
    assert "No negative mentions in the last 30 days." in page.text
