"""Reading a source's own places one by one: Google locations, App Store apps, channels.

A source that reads several of the owner's places (per_brand = False) reads each in turn
and yields a step per place (``Connector.fetch_pages``), so the progress of the places read
is kept even when a later one fails. One place that fails (an unknown id, a page that does
not answer) must not hide the others; a refused credential or a rate limit, which every
place shares, stops them all at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from connectors.base import FetchResult
from monitor.errors import AuthError, ConnectorError, RateLimited
from monitor.models import Mention

log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")

#: What one credential or one quota shared by every place can fail with.
SHARED: tuple[type[ConnectorError], ...] = (AuthError, RateLimited)


def each_place(places: Iterable[P], read: Callable[[P], R], *, what: str = "place") -> Iterator[R]:
    """``read(place)`` for each place, in turn. A place that fails is logged and skipped
    (tried again at the next poll); a failure in ``SHARED`` is raised at once; when every
    place failed, the first failure is raised, so the source is reported as failed."""
    errors: list[ConnectorError] = []
    read_one = False
    for place in places:
        try:
            result = read(place)
        except SHARED:
            raise
        except ConnectorError as exc:
            errors.append(exc)
            continue
        read_one = True
        yield result
    if errors and not read_one:
        raise errors[0]
    for error in errors:
        log.warning("%s; the other %ss were read, this one is tried again", error, what)


def gather(steps: Iterable[FetchResult], cursor: str | None) -> FetchResult:
    """A whole fetch from the steps of ``fetch_pages``: every mention, the last cursor."""
    found: list[Mention] = []
    last = cursor
    for mentions, step in steps:
        found.extend(mentions)
        last = step
    return found, last
