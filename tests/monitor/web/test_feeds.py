"""Atom feeds of a brand's negative mentions: the token in the address, valid escaped XML."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

from monitor.web.feeds import FEED_SIZE, feed_path, feed_token
from tests.monitor.web.apikit import HOSTILE, NOW, TOKEN, Kit, build, kit, new, put

__all__ = ["kit"]

A = "{http://www.w3.org/2005/Atom}"


def test_the_token_is_an_hmac_of_the_brand_under_the_api_token() -> None:
    expected = hmac.new(TOKEN.encode(), b"Acme Coffee", hashlib.sha256).hexdigest()
    assert feed_token(TOKEN, "Acme Coffee") == expected
    assert feed_token(TOKEN, "Bolt & Co") != expected
    assert feed_path(TOKEN, "Bolt & Co") == (
        f"/feeds/Bolt%20%26%20Co.atom?token={feed_token(TOKEN, 'Bolt & Co')}"
    )


def feed(kit: Kit, brand: str = "Acme Coffee") -> ET.Element:
    answer = kit.client.get(feed_path(TOKEN, brand))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert TOKEN not in answer.text
    return ET.fromstring(answer.content)


def test_a_brand_feed_lists_its_negative_mentions_newest_first(kit: Kit) -> None:
    root = feed(kit)
    assert root.tag == f"{A}feed"
    assert root.findtext(f"{A}title") == "Negative mentions of Acme Coffee"
    assert root.findtext(f"{A}updated") == "2026-11-23T10:00:00Z"
    assert root.findtext(f"{A}id") == "urn:mention-monitor:feed:Acme%20Coffee"
    entries = root.findall(f"{A}entry")
    # The hostile one (newer) then the angry one; not the happy one, not Bolt's.
    summaries = [e.findtext(f"{A}summary") or "" for e in entries]
    assert len(entries) == 2
    assert summaries[0].startswith(HOSTILE)
    assert summaries[1].startswith("Acme Coffee: worst refund ever")
    assert "Why flagged: angry words: worst" in summaries[1]
    angry = entries[1]
    assert angry.findtext(f"{A}id", "").startswith("https://news.example/item/")
    assert angry.find(f"{A}link") is not None
    assert angry.findtext(f"{A}author/{A}name") == "ann"
    assert angry.findtext(f"{A}updated") == "2026-11-23T09:00:00Z"
    assert angry.findtext(f"{A}published") == "2026-11-23T10:00:00Z"
    assert angry.findtext(f"{A}title") == "ann on hackernews: Acme Coffee: worst refund ever"


def test_hostile_text_is_escaped_and_a_javascript_link_is_dropped(kit: Kit) -> None:
    answer = kit.client.get(feed_path(TOKEN, "Acme Coffee"))
    assert "<script>" not in answer.text and "<b>mallory" not in answer.text
    assert "&lt;script&gt;" in answer.text
    assert "javascript:" not in answer.text
    hostile = ET.fromstring(answer.content).findall(f"{A}entry")[0]
    assert hostile.findtext(f"{A}author/{A}name") == "<b>mallory</b>"
    assert hostile.find(f"{A}link") is None
    assert hostile.findtext(f"{A}id") == f"urn:mention-monitor:mention:{kit.ids['hostile']}"


def test_control_characters_that_xml_cannot_hold_are_dropped(kit: Kit) -> None:
    put(kit.store, [new("Acme bell \x07 and \x1b[31m escape \x0b worst")], NOW)
    root = feed(kit)
    assert (
        root.findall(f"{A}entry")[0]
        .findtext(f"{A}summary", "")
        .startswith("Acme bell  and [31m escape  worst")
    )


def test_a_brand_with_odd_characters_has_its_own_feed(kit: Kit) -> None:
    entries = feed(kit, "Bolt & Co").findall(f"{A}entry")
    assert [e.findtext(f"{A}summary", "")[:17] for e in entries] == ["Bolt & Co lost it"]


def test_wrong_or_missing_tokens_and_unknown_brands(kit: Kit) -> None:
    base = "/feeds/Acme%20Coffee.atom"
    assert kit.client.get(base).status_code == 403
    assert kit.client.get(f"{base}?token={TOKEN}").status_code == 403
    other = feed_token(TOKEN, "Bolt & Co")
    answer = kit.client.get(f"{base}?token={other}")
    assert answer.status_code == 403 and "copy it again" in answer.text
    assert kit.client.get(feed_path(TOKEN, "Nobody")).status_code == 404
    assert kit.client.get(feed_path("another-token", "Acme Coffee")).status_code == 403


def test_without_an_api_token_feeds_are_off(tmp_path: Path) -> None:
    off = build(tmp_path, token=None)
    try:
        answer = off.client.get(feed_path(TOKEN, "Acme Coffee"))
        assert answer.status_code == 404 and "web.api_token" in answer.text
    finally:
        off.client.close()
        off.store.close()


def test_with_a_public_url_entries_point_at_the_inbox(tmp_path: Path) -> None:
    linked = build(tmp_path, public_url="https://shop.example/monitor")
    try:
        root = feed(linked)
        assert root.findtext(f"{A}id") == "https://shop.example/monitor/brands/Acme%20Coffee"
        angry = root.findall(f"{A}entry")[1]
        page = f"https://shop.example/monitor/mentions/{linked.ids['angry']}"
        assert angry.findtext(f"{A}id") == page
        links = {link.get("rel"): link.get("href") for link in angry.findall(f"{A}link")}
        assert links["alternate"] == page
        assert links["related"].startswith("https://news.example/item/")
    finally:
        linked.client.close()
        linked.store.close()


def test_a_feed_holds_the_newest_fifty(kit: Kit) -> None:
    for n in range(FEED_SIZE + 5):
        put(kit.store, [new(f"Acme bad {n}")], NOW + timedelta(minutes=n))
    entries = feed(kit).findall(f"{A}entry")
    assert len(entries) == FEED_SIZE
    assert (entries[0].findtext(f"{A}summary") or "").startswith(f"Acme bad {FEED_SIZE + 4}")
