"""Leases and workers in the store: who does a job, how often, and what a dead worker
leaves. Time is given to every call, so expiry is tested without waiting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from monitor.models import Mention, Score
from monitor.store import PENDING, SENDING, Leases, NewMention, Store, Workers
from monitor.store.leases import LEASE_TTL
from monitor.store.workers import DEAD_AFTER, FORGET_AFTER

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
A, B = "shop-pc:100:aaaa0001", "shop-pc:200:bbbb0002"


def test_two_claimants_one_lease(store: Store) -> None:
    leases = Leases(store)
    first = leases.claim("poll:hackernews", A, T0, EVERY)
    second = leases.claim("poll:hackernews", B, T0, EVERY)
    assert first.held and not second.held
    assert second.holder == A and second.acquired_at == T0
    # Another job is another lease.
    assert leases.claim("poll:reddit", B, T0, EVERY).held


def test_a_job_is_not_started_again_within_its_interval_whoever_asks(store: Store) -> None:
    leases = Leases(store)
    assert leases.claim("poll:hackernews", A, T0, EVERY).held
    leases.release("poll:hackernews", A)
    # Free, but polled 4 minutes ago: neither worker may poll it, A included.
    for who in (A, B):
        lease = leases.claim("poll:hackernews", who, T0 + timedelta(minutes=4), EVERY)
        assert not lease.held and lease.holder is None
        assert lease.next_try(EVERY, T0 + timedelta(minutes=4)) == T0 + EVERY
    late = leases.claim("poll:hackernews", B, T0 + EVERY, EVERY)
    assert late.held and late.acquired_at == T0 + EVERY


def test_a_held_lease_expires_unless_renewed(store: Store) -> None:
    leases = Leases(store)
    leases.claim("poll:hackernews", A, T0, timedelta(seconds=1))
    # A is still polling 20 s later and renews (its heartbeat does): B waits.
    assert leases.renew(A, T0 + timedelta(seconds=20)) == 1
    waiting = leases.claim("poll:hackernews", B, T0 + timedelta(seconds=40), timedelta(seconds=1))
    assert not waiting.held
    assert waiting.next_try(timedelta(seconds=1), T0 + timedelta(seconds=40)) == (
        T0 + timedelta(seconds=20) + LEASE_TTL
    )
    # A died after that renewal: 30 s later its lease is gone and B carries on.
    taken = leases.claim(
        "poll:hackernews",
        B,
        T0 + timedelta(seconds=20) + LEASE_TTL + timedelta(seconds=1),
        timedelta(seconds=1),
    )
    assert taken.held and taken.holder == B
    assert leases.renew(A, T0 + timedelta(minutes=1)) == 0  # nothing of A's is left to renew


def test_held_lists_live_leases_only(store: Store) -> None:
    leases = Leases(store)
    leases.claim("poll:hackernews", A, T0, EVERY)
    leases.claim("watch", B, T0 + timedelta(seconds=5), timedelta(minutes=1))
    now = T0 + timedelta(seconds=10)
    assert [(x.name, x.holder) for x in leases.held(now)] == [
        ("poll:hackernews", A),
        ("watch", B),
    ]
    leases.release("watch", B)
    assert [x.name for x in leases.held(now)] == ["poll:hackernews"]
    assert leases.held(T0 + LEASE_TTL + timedelta(seconds=1)) == []


def _mention(n: int) -> NewMention:
    mention = Mention(
        source="hackernews",
        external_id=str(n),
        url=f"https://news.ycombinator.com/item?id={n}",
        author="someone",
        text=f"Acme coffee was cold #{n}",
        created_at=T0,
        engagement={},
        raw={},
    )
    score = Score(-0.4, "negative", True, ("vader -0.40",))
    return NewMention(mention, "Acme", ("Acme",), score, "negative", ("slack",))


def test_a_dead_worker_loses_its_leases_and_its_claimed_alerts(store: Store) -> None:
    workers, leases = Workers(store), Leases(store)
    workers.register(A, "shop-pc", 100, "1.0", T0)
    workers.register(B, "shop-pc", 200, "1.0", T0)
    leases.claim("poll:hackernews", A, T0, EVERY)
    store.ingest("hackernews", "Acme", [_mention(1), _mention(2)], None, now=T0)
    store.claim_prefix = "aaaa0001."  # A claims the first alert, then is killed mid-send
    due = store.due_alerts(T0)
    [claimed] = store.claim_many([due[0].id], T0)
    store.claim_prefix = "bbbb0002."
    store.claim_many([due[1].id], T0)

    later = T0 + timedelta(seconds=25)
    assert workers.beat(B, later)
    assert workers.reap(later).workers == []  # A's heartbeat is 25 s old: not dead yet
    dead = T0 + DEAD_AFTER + timedelta(seconds=5)
    assert workers.beat(B, dead)
    reaped = workers.reap(dead)
    assert (reaped.workers, reaped.leases, reaped.alerts) == ([A], 1, 1)
    assert workers.reap(dead).workers == []  # taken over once
    # A's alert is pending again, marked as a possible repeat; B's, still being sent, is not.
    again = store.due_alerts(dead)
    assert [(r.id, r.repeat_of is not None) for r in again] == [(claimed.id, True)]
    with store.session() as s:
        from monitor.store import AlertRow

        statuses = {r.id: r.status for r in s.query(AlertRow)}
    assert statuses == {due[0].id: PENDING, due[1].id: SENDING}
    # The lease is free: B polls now (A polled at T0, 5 minutes have passed by then).
    assert leases.claim("poll:hackernews", B, T0 + EVERY, EVERY).held
    listed = {w.id: w for w in workers.all()}
    assert listed[A].gone_at == dead and not listed[A].stopped
    assert listed[B].alive(dead) and not listed[A].alive(dead)


def test_a_worker_taken_for_dead_counts_again_and_old_ones_are_forgotten(store: Store) -> None:
    workers, leases = Workers(store), Leases(store)
    workers.register(A, "shop-pc", 100, "1.0", T0)
    workers.register(B, "other-pc", 200, "1.0", T0)
    leases.claim("watch", B, T0, timedelta(minutes=1))
    later = T0 + DEAD_AFTER + timedelta(seconds=1)
    workers.beat(A, later)
    assert workers.reap(later).workers == [B]
    assert not workers.beat(B, later + timedelta(seconds=2))  # it was paused, not dead
    assert workers.all()[1].alive(later + timedelta(seconds=2))
    workers.stop(A, later + timedelta(seconds=3))
    a = workers.all()[0]
    assert a.stopped and a.gone_at == later + timedelta(seconds=3)
    assert workers.forget(later + FORGET_AFTER) == 0
    assert workers.forget(later + FORGET_AFTER + timedelta(seconds=4)) == 1
    assert [w.id for w in workers.all()] == [B]


def test_a_row_another_worker_is_claiming_is_skipped_not_waited_for(
    pg_store: Store,
) -> None:
    """PostgreSQL: while another transaction holds a row's lock (a worker claiming it at this
    moment), claim_many passes it over at once and takes the rest (SQLite writes one
    transaction at a time)."""
    store = pg_store
    store.ingest("hackernews", "Acme", [_mention(1), _mention(2)], None, now=T0)
    first, second = (r.id for r in store.due_alerts(T0))
    with store.engine.connect() as other:
        with other.begin():
            other.execute(text("SELECT id FROM alerts WHERE id = :id FOR UPDATE"), {"id": first})
            # In a thread: without SKIP LOCKED the claim would wait for this transaction.
            claimed: list[list[int]] = []
            claimer = threading.Thread(
                target=lambda: claimed.append([a.id for a in store.claim_many([first, second], T0)])
            )
            claimer.start()
            claimer.join(timeout=30)
            assert claimed == [[second]], "the claim waited for the locked row"
    # Released (that worker's transaction ended without claiming it): the next claim gets it.
    assert [a.id for a in store.claim_many([first], T0)] == [first]
