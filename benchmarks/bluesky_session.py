"""Bluesky sign-ins for a day of cron polls, and what keeping the session costs per process.

Measured: ``--polls`` (default 288: one every 5 minutes for a day) separate "processes", each
a new Store on one SQLite file and a new Bluesky connector, as ``mention-monitor poll`` from
cron makes them, against the loopback Bluesky stand-in (tests/standins/bluesky.py), whose
access tokens expire every 2 hours (its clock is moved on 5 minutes per poll, no sleeping).
The stand-in counts createSession (sign-ins) and refreshSession calls. Also timed: the
PBKDF2-HMAC-SHA256 derivation (600,000 rounds) of the key that seals the stored session,
paid once per process that reads or writes it.

Floor (issue 10 item 19): 1 sign-in for the day, none refused by the login guard (5 per 5
minutes, 25 per day); before the fix, the 6th poll was refused ("not logging in to Bluesky
again yet").

Run: ``.venv/bin/python benchmarks/bluesky_session.py [--polls N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the loopback stand-ins in tests/

from connectors.bluesky import (  # noqa: E402
    CREATE_SESSION,
    REFRESH_SESSION,
    BlueskyConfig,
    BlueskyConnector,
)
from monitor.errors import RateLimited  # noqa: E402
from monitor.http import make_client  # noqa: E402
from monitor.store import Store, StoreState  # noqa: E402
from tests.standins.bluesky import BlueskyAPI, BlueskyStandIn, post  # noqa: E402

HANDLE, PASSWORD = "acme.bsky.social", "abcd-efgh-ijkl-mnop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=288)
    polls = parser.parse_args().polls
    api = BlueskyAPI([post("3k1", "acme is fine")], handle=HANDLE, password=PASSWORD)
    refused = 0
    per_process: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, BlueskyStandIn(api) as server, make_client() as http:
        url = f"sqlite:///{Path(tmp) / 'mentions.db'}"
        config = BlueskyConfig(base_url=server.url, handle=HANDLE, app_password=PASSWORD)
        for _ in range(polls):
            store = Store(url)
            conn = BlueskyConnector(config, http, StoreState(store, "bluesky"))
            started = time.perf_counter()
            try:
                conn.fetch(["acme"], None)
            except RateLimited:
                refused += 1
            per_process.append(time.perf_counter() - started)
            conn.close()
            store.close()
            api.advance(300)
        salt = b"0123456789abcdef"
        started = time.perf_counter()
        conn._fernet_for(salt)
        derive = time.perf_counter() - started
    per_process.sort()
    print(f"polls (separate processes): {polls}, {polls * 5 / 60:.1f} hours of cron")
    print(f"sign-ins (createSession):   {api.calls[CREATE_SESSION]}")
    print(f"refreshSession calls:       {api.calls[REFRESH_SESSION]}")
    print(f"polls refused by the guard: {refused}")
    print(f"key derivation (PBKDF2):    {derive * 1000:.0f} ms once per process")
    print(f"fetch per process, median:  {per_process[len(per_process) // 2] * 1000:.0f} ms")
    ok = api.calls[CREATE_SESSION] == 1 and refused == 0
    print("floor (1 sign-in, none refused):", "met" if ok else "NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
