"""Server time of whole inbox pages (queries, rows, templates, middleware) with a million
mentions stored: what an owner waits for, beyond the listing queries benchmarks/inbox.py
times.

Measured: the same SQLite file benchmarks/inbox.py builds (its ``seed``: 10 brands, 6
sources, ~8% negative over a year; ``--db`` reuses one), served by the real app
(``create_app``, logged in with a password, sessions and CSRF on) through Starlette's test
client, in process: no network, so the figure is the server's time for the page. Each page
is asked ``--runs`` times; printed: the first and the best time in ms and the page's size.
Each should be under 300 ms.

Run: ``.venv/bin/python benchmarks/inbox_pages.py [--size 1000000] [--runs 5] [--db FILE]``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inbox import NOW, seed  # noqa: E402
from sqlalchemy import text  # noqa: E402

from monitor.config import parse_config  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.web import create_app  # noqa: E402

PASSWORD = "benchmark password"
LIMIT_MS = 300.0


def config_for(db: Path) -> str:
    brands = "\n".join(f"  - name: Brand {i}\n    keywords: [brand{i}]" for i in range(10))
    return (
        textwrap.dedent(
            f"""
        database: sqlite:///{db}
        sources:
          hackernews: {{}}
        web:
          password: {PASSWORD}
        """
        )
        + f"brands:\n{brands}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="reuse (or create) this SQLite file")
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory()
    path = args.db or Path(workdir.name) / "inbox.db"
    store = Store(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM mentions")).scalar() or 0
    if stored != args.size:
        if stored:
            sys.exit(f"{path} holds {stored} mentions, not {args.size}: use another --db")
        started = time.perf_counter()
        seed(store, args.size, random.Random(11))
        print(f"seeded {args.size:,} mentions in {time.perf_counter() - started:.0f} s")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    config = parse_config(config_for(path))
    client = TestClient(create_app(config, store, clock=lambda: NOW), base_url="http://127.0.0.1")
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    login = client.post("/login", data={"password": PASSWORD, "csrf_token": token.group(1)})
    assert login.status_code == 200, login.status_code

    first_page = client.get("/?view=all").text
    cursor = re.search(r'href="/(\?[^"]*cursor=[^"]+)" rel="next"', first_page)
    later = "/" + cursor.group(1).replace("&amp;", "&") if cursor else "/?view=all"
    one = re.search(r'href="/mentions/(\d+)"', client.get("/").text)
    mention = f"/mentions/{one.group(1) if one else 1}"
    pages = [
        ("needs an answer (urgent)", "/"),
        ("needs an answer, one brand", "/?brand=Brand+3"),
        ("all mentions (newest)", "/?view=all"),
        ("all mentions, page 2", later),
        ("not flagged", "/?view=unflagged"),
        ("all, one source, 7 days", "/?view=all&source=mastodon&since=7d"),
        ("search 'refund'", "/?view=all&q=refund"),
        ("a mention's page", mention),
        ("the confirm page", mention + "/ack"),
        ("sources", "/sources"),
        ("alerts", "/alerts"),
    ]
    print(f"{'page':32} {'first':>8} {'best':>8} {'KB':>6}")
    worst = 0.0
    for name, url in pages:
        times: list[float] = []
        size = 0
        for _ in range(args.runs):
            started = time.perf_counter()
            answer = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (url, answer.status_code)
            size = len(answer.content)
        worst = max(worst, min(times))
        print(f"{name:32} {times[0]:8.1f} {min(times):8.1f} {size / 1024:6.1f}")
    verdict = "PASS" if worst < LIMIT_MS else "FAIL"
    print(f"slowest page (best of {args.runs}): {worst:.1f} ms; limit {LIMIT_MS:g} ms: {verdict}")
    client.close()
    store.close()


if __name__ == "__main__":
    main()
