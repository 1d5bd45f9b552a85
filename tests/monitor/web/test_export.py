"""CSV and JSON exports: the inbox's filters, streamed, safe in a spreadsheet, and who may."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.store import Store
from monitor.web import create_app, export
from tests.monitor.web.apikit import BEARER, HOSTILE, TOKEN, Kit, kit, new, put
from tests.monitor.web.conftest import PASSWORD, log_in

__all__ = ["kit"]


def rows_of(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_holds_every_mention_with_formulas_defused(kit: Kit) -> None:
    answer = kit.client.get("/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="mentions-20261123-1200.csv"'
    )
    rows = rows_of(answer.text)
    assert [int(r["id"]) for r in rows] == [
        kit.ids["bolt"],
        kit.ids["happy"],
        kit.ids["hostile"],
        kit.ids["angry"],
    ]
    hostile = next(r for r in rows if int(r["id"]) == kit.ids["hostile"])
    assert hostile["text"] == "'" + HOSTILE  # a spreadsheet shows it, never runs it
    assert hostile["author"] == "<b>mallory</b>"
    assert hostile["negative"] == "yes" and hostile["severity"] == "high"
    assert hostile["reasons"] == "angry words: worst"
    assert hostile["first_seen_at"] == "2026-11-23T10:00:00Z"
    assert list(rows[0]) == list(export.COLUMNS)
    assert "raw-only-value" not in answer.text


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_defused(start: str) -> None:
    assert export.safe_cell(f"{start}1+1") == f"'{start}1+1"
    assert export.safe_cell("plain") == "plain"
    assert export.safe_cell(-3) == -3


def test_exports_take_the_inbox_filters(kit: Kit) -> None:
    rows = rows_of(kit.client.get("/export.csv?view=needs").text)
    assert [int(r["id"]) for r in rows] == [kit.ids["hostile"], kit.ids["angry"], kit.ids["bolt"]]
    rows = rows_of(kit.client.get("/export.csv?brand=Bolt+%26+Co").text)
    assert [int(r["id"]) for r in rows] == [kit.ids["bolt"]]
    answer = kit.client.get("/export.json?since=tomorrow")
    assert answer.status_code == 400 and "is not a time span" in answer.json()["error"]


def test_json_export_is_a_list_of_mentions_as_the_api_shows_them(kit: Kit) -> None:
    answer = kit.client.get("/export.json?q=worst")
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"].endswith('.json"')
    got = json.loads(answer.text)
    assert [m["id"] for m in got] == [kit.ids["hostile"], kit.ids["angry"]]
    assert got[0]["text"] == HOSTILE and "raw" not in got[0]
    assert json.loads(kit.client.get("/export.json?source=reddit").text) == []


def test_a_long_export_is_streamed_in_keyset_batches(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "BATCH", 3)
    put(kit.store, [new(f"Acme again {n}") for n in range(20)])
    pages: list[int] = []
    real = export.list_mentions

    def counting(*args: object, **kwargs: object) -> object:
        page = real(*args, **kwargs)  # type: ignore[arg-type]
        pages.append(len(page.rows))
        return page

    monkeypatch.setattr(export, "list_mentions", counting)
    with kit.client.stream("GET", "/export.json") as answer:
        body = "".join(answer.iter_text())
    got = json.loads(body)
    assert len(got) == 24 and len({m["id"] for m in got}) == 24
    assert max(pages) <= 3  # never more than a batch in memory


def _real_app(tmp_path: Path, store: Store, web: str) -> TestClient:
    from monitor.config import parse_config
    from tests.monitor.web.apikit import CONFIG

    config = parse_config(CONFIG.format(db=tmp_path / "api.db") + web, base_dir=tmp_path)
    return TestClient(create_app(config, store), follow_redirects=False)


def test_exports_need_a_session_or_the_token_in_the_real_app(tmp_path: Path, kit: Kit) -> None:
    web = f"web:\n  password: {PASSWORD}\n  api_token: {TOKEN}\n"
    with _real_app(tmp_path, kit.store, web) as client:
        answer = client.get("/export.csv")
        assert answer.status_code == 303 and "/login" in answer.headers["location"]
        wrong = client.get("/export.csv", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 303
        answer = client.get("/export.csv", headers=BEARER)
        assert answer.status_code == 200 and len(rows_of(answer.text)) == 4
        assert TOKEN not in answer.text
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        log_in(client)
        assert client.get("/export.json").status_code == 200


def test_the_api_needs_no_csrf_token_with_its_bearer_token_in_the_real_app(
    tmp_path: Path, kit: Kit
) -> None:
    web = f"web:\n  password: {PASSWORD}\n  api_token: {TOKEN}\n"
    with _real_app(tmp_path, kit.store, web) as client:
        url = f"/api/mentions/{kit.ids['angry']}/status"
        answer = client.post(url, json={"status": "resolved"}, headers=BEARER)
        assert answer.status_code == 200, answer.text
        assert client.post(url, json={"status": "ignored"}).status_code == 401
        log_in(client)  # a session is no key to the API: only the token is
        assert client.post(url, json={"status": "ignored"}).status_code == 401
        assert client.get("/healthz").json() == {"status": "ok"}
    row = kit.store.mention(kit.ids["angry"])
    assert row is not None and row.status == "resolved"


def test_a_configured_secret_in_a_post_reaches_no_export_and_no_answer(kit: Kit) -> None:
    from monitor.redact import REDACTOR

    secret = "hunter2-c0ffee-4242"
    REDACTOR.add(secret)
    put(kit.store, [new(f'Acme leaked "{secret}" in a post', author=secret)])
    for path in ("/export.csv", "/export.json", "/api/mentions"):
        answer = kit.client.get(path, headers=BEARER)
        assert answer.status_code == 200
        assert secret not in answer.text and "[secret]" in answer.text, path
    json.loads(kit.client.get("/export.json").text)  # still valid JSON
