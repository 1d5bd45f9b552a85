"""The JSON API and /healthz, as an owner's script uses them, over a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.monitor.web.apikit import BEARER, HOSTILE, NOW, TOKEN, Kit, build, kit, new, put

__all__ = ["kit"]


def test_listing_needs_the_token_and_never_shows_it(kit: Kit) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}):
        answer = kit.client.get("/api/mentions", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"].startswith("send the API token")
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in answer.text
    answer = kit.client.get("/api/mentions", headers=BEARER)
    assert answer.status_code == 200
    assert TOKEN not in answer.text
    got = answer.json()
    assert [m["id"] for m in got["mentions"]] == [
        kit.ids["bolt"],
        kit.ids["happy"],
        kit.ids["hostile"],
        kit.ids["angry"],
    ]
    assert got["next_cursor"] is None and got["order"] == "newest"


def test_a_mention_holds_what_the_owner_needs_and_never_raw(kit: Kit) -> None:
    got = kit.client.get(f"/api/mentions/{kit.ids['angry']}", headers=BEARER).json()["mention"]
    assert got["text"] == "Acme Coffee: worst refund ever"
    assert got["first_seen_at"] == "2026-11-23T09:00:00Z"
    assert got["created_at"] == "2026-11-23T10:00:00Z"
    assert (got["brand"], got["source"], got["author"], got["status"]) == (
        "Acme Coffee",
        "hackernews",
        "ann",
        "new",
    )
    assert got["negative"] is True and got["severity"] == "negative" and got["level"] == 0
    assert got["reasons"] == ["angry words: worst"] and got["engagement"] == {"score": 3}
    assert got["verdict"] is None and got["history"] == []
    assert "raw" not in got
    assert "raw-only-value" not in kit.client.get("/api/mentions", headers=BEARER).text


def test_filters_views_and_orders(kit: Kit) -> None:
    def ids(query: str) -> list[int]:
        answer = kit.client.get(f"/api/mentions?{query}", headers=BEARER)
        assert answer.status_code == 200, answer.text
        return [m["id"] for m in answer.json()["mentions"]]

    k = kit.ids
    # needs: negative and new, most urgent (high) first, then the oldest.
    assert ids("view=needs") == [k["hostile"], k["angry"], k["bolt"]]
    assert ids("view=unflagged") == [k["happy"]]
    assert ids("brand=Bolt+%26+Co") == [k["bolt"]]
    assert ids("negative=1&order=urgent") == [k["hostile"], k["angry"], k["bolt"]]
    assert ids("q=REFUND") == [k["angry"]]
    assert ids("since=90m") == [k["bolt"], k["happy"]]
    assert ids("source=reddit") == []


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("view=everything", "view='everything' is not one of"),
        ("status=open", "status='open' is not one of"),
        ("negative=yes", "negative='yes' is not 1, 0 or all"),
        ("since=yesterday", "since='yesterday' is not a time span"),
        ("order=oldest", "order='oldest' is not one of"),
        ("limit=500", "limit= must be a whole number from 1 to 200"),
        ("limit=ten", "limit= must be a whole number"),
        ("cursor=abc", "start again from the first page"),
    ],
)
def test_bad_parameters_are_a_400_that_says_which(kit: Kit, query: str, says: str) -> None:
    answer = kit.client.get(f"/api/mentions?{query}", headers=BEARER)
    assert answer.status_code == 400
    assert says in answer.json()["error"]


def test_cursor_paging_through_the_api(kit: Kit) -> None:
    put(kit.store, [new(f"Acme {n}") for n in range(7)])
    seen: list[int] = []
    cursor = ""
    while True:
        got = kit.client.get(f"/api/mentions?limit=3&cursor={cursor}", headers=BEARER).json()
        seen += [m["id"] for m in got["mentions"]]
        if got["next_cursor"] is None:
            break
        cursor = got["next_cursor"]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 11


def test_status_changes_through_set_status_and_shows_in_history(kit: Kit) -> None:
    url = f"/api/mentions/{kit.ids['angry']}/status"
    answer = kit.client.post(
        url, json={"status": "acknowledged", "note": "called them"}, headers=BEARER
    )
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["changed"] is True
    assert got["mention"]["status"] == "acknowledged"
    assert got["mention"]["status_note"] == "called them"
    assert [(h["status"], h["note"]) for h in got["mention"]["history"]] == [
        ("acknowledged", "called them")
    ]
    assert got["mention"]["history"][0]["at"] == "2026-11-23T12:00:00Z"
    again = kit.client.post(url, json={"status": "acknowledged"}, headers=BEARER).json()
    assert again["changed"] is False
    row = kit.store.mention(kit.ids["angry"])
    assert row is not None and row.status == "acknowledged" and row.acked_at == NOW


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"status": "new"}, 400, "status must be one of: acknowledged, resolved, ignored"),
        ({"status": "done"}, 400, "status must be one of"),
        ({}, 400, "status must be one of"),
        ({"status": "resolved", "note": 5}, 400, "note must be text"),
    ],
)
def test_bad_status_changes_change_nothing(
    kit: Kit, body: dict[str, object], status: int, says: str
) -> None:
    url = f"/api/mentions/{kit.ids['angry']}/status"
    answer = kit.client.post(url, json=body, headers=BEARER)
    assert (answer.status_code, says in answer.json()["error"]) == (status, True)
    assert kit.store.status_changes(kit.ids["angry"]) == []


def test_not_json_unknown_ids_and_no_token(kit: Kit) -> None:
    url = f"/api/mentions/{kit.ids['angry']}/status"
    answer = kit.client.post(url, content=b"status=resolved", headers=BEARER)
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]
    answer = kit.client.post(url, content=b"[1]", headers=BEARER)
    assert answer.status_code == 400 and "JSON object" in answer.json()["error"]
    answer = kit.client.post(url, content=b"{" * 70_000, headers=BEARER)
    assert answer.status_code == 413
    answer = kit.client.post("/api/mentions/999/status", json={"status": "ignored"}, headers=BEARER)
    assert answer.status_code == 404 and answer.json()["error"] == "there is no mention #999"
    assert kit.client.get("/api/mentions/999", headers=BEARER).status_code == 404
    answer = kit.client.post(url, json={"status": "resolved"})
    assert answer.status_code == 401
    assert kit.store.status_changes(kit.ids["angry"]) == []


def test_verdicts_go_through_give_verdict(kit: Kit) -> None:
    url = f"/api/mentions/{kit.ids['angry']}/verdict"
    answer = kit.client.post(url, json={"verdict": "not_negative"}, headers=BEARER)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["changed"] is True
    assert got["mention"]["verdict"] == "not_negative"
    assert got["mention"]["negative"] is False
    assert got["mention"]["verdict_at"] == "2026-11-23T12:00:00Z"
    assert any("not negative" in r for r in got["mention"]["reasons"])
    bad = kit.client.post(url, json={"verdict": "meh"}, headers=BEARER)
    assert bad.status_code == 400 and "negative or not_negative" in bad.json()["error"]
    assert kit.client.post(url, json={"verdict": "negative"}).status_code == 401
    missing = kit.client.post(
        "/api/mentions/999/verdict", json={"verdict": "negative"}, headers=BEARER
    )
    assert missing.status_code == 404


def test_without_an_api_token_the_api_is_off(tmp_path: Path) -> None:
    off = build(tmp_path, token=None)
    try:
        for answer in (
            off.client.get("/api/mentions", headers=BEARER),
            off.client.get("/api/mentions", headers={"Authorization": "Bearer "}),
            off.client.post("/api/mentions/1/status", json={"status": "ignored"}),
        ):
            assert answer.status_code == 404
            assert "web.api_token" in answer.json()["error"]
    finally:
        off.client.close()
        off.store.close()


def test_hostile_text_comes_back_as_data(kit: Kit) -> None:
    got = kit.client.get(f"/api/mentions/{kit.ids['hostile']}", headers=BEARER)
    assert got.headers["content-type"] == "application/json"
    assert got.json()["mention"]["text"] == HOSTILE
    assert got.json()["mention"]["author"] == "<b>mallory</b>"


def test_public_url_links_each_mention_to_its_page(tmp_path: Path) -> None:
    linked = build(tmp_path, public_url="https://shop.example/monitor")
    try:
        got = linked.client.get(f"/api/mentions/{linked.ids['angry']}", headers=BEARER).json()
        assert got["mention"]["inbox_url"] == (
            f"https://shop.example/monitor/mentions/{linked.ids['angry']}"
        )
    finally:
        linked.client.close()
        linked.store.close()


def test_healthz_says_ok_with_no_login_and_no_data(kit: Kit) -> None:
    answer = kit.client.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


@pytest.fixture
def broken_kit(tmp_path: Path) -> Iterator[Kit]:
    made = build(tmp_path)
    with made.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE replies"))
        conn.execute(text("ALTER TABLE mentions RENAME TO gone"))
    yield made
    made.client.close()
    made.store.close()


def test_healthz_is_503_when_the_database_cannot_be_read(broken_kit: Kit) -> None:
    answer = broken_kit.client.get("/healthz")
    assert (answer.status_code, answer.json()) == (503, {"status": "error"})
