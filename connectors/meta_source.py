"""What the ``facebook`` and ``instagram`` sources share: their common keys, and a poll that
reads each of the owner's accounts (Pages, Instagram accounts) in turn.

One token serves both: the Page access token of the Facebook Page the Instagram professional
account is linked to reads that account too, so an owner with both writes
``page_token: ${META_PAGE_TOKEN}`` under each source and sets the variable once.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, ByteSize, Field, SecretStr

from connectors.base import Connector, FetchResult, SourceConfig, response_limit
from connectors.meta_graph import GRAPH_URL, MetaGraph, next_query
from connectors.meta_watch import Memory, Window, parse_time
from monitor.config import Duration, StrictModel
from monitor.errors import AuthError, ConnectorError, ParseError, RateLimited
from monitor.models import Mention
from monitor.wording import count

log = logging.getLogger(__name__)

Found = list[tuple[Mention, str]]  # items read, each with its fingerprint (meta_watch.py)


class Owned(StrictModel):
    """One account of the owner's: a Facebook Page or an Instagram professional account."""

    id: str = Field(
        pattern=r"^[0-9]{5,25}$",
        description="its id, digits only: the Page's id, or the Instagram account's (`1784...`,"
        " not its @name); How to get on the source's page shows where to find it",
    )
    brand: str = Field(description="the brand it belongs to (its `name` under `brands:`)")
    name: str | None = Field(
        default=None, description="a label for it in logs and `check`; unset: the brand's name"
    )
    page_token: SecretStr | None = Field(
        default=None,
        description="its own Page access token, when one token does not reach them all;"
        " unset: the source's `page_token`",
    )

    @property
    def label(self) -> str:
        return self.name or self.brand


A = TypeVar("A", bound=Owned)


class MetaConfig(SourceConfig):
    #: What the source reads (each source lists its own choices); one request each a poll.
    read: Sequence[str]
    every: Duration = Field(
        default=timedelta(minutes=15),
        description="how often to poll; each poll costs one request for each thing under"
        " `read` and each account (see What it costs)",
    )
    base_url: str = Field(
        default=GRAPH_URL,
        description="the Graph API's address with its version; v21.0 is the last that lists"
        " Facebook recommendations (Meta keeps it until 21 January 2027)",
    )
    page_token: SecretStr = Field(
        description="a Page access token that does not expire (see How to get); write"
        " `${META_PAGE_TOKEN}`: the facebook and instagram sources read the same one"
    )
    max_posts: int = Field(
        default=10,
        ge=1,
        le=100,
        description="how many of your newest posts are re-read at every poll for new comments"
        " (one request however many; comments on older posts are not seen)",
    )
    comments_per_post: int = Field(
        default=50, ge=1, le=100, description="comments read with each post in that request"
    )
    max_pages: int = Field(
        default=3,
        ge=1,
        le=50,
        description="at most this many further requests per post when it has more new"
        " comments than one answer holds",
    )
    lookback: Duration = Field(
        default=timedelta(days=3),
        description="how far back the first poll reaches (older items are remembered, not"
        " reported)",
    )
    recheck: Duration = Field(
        default=timedelta(days=7),
        description="items this recent are compared at every poll, so an edit or your reply"
        " is noticed",
    )
    #: A page of 25 posts with 50 comments each is a few hundred kB.
    max_response: ByteSize = response_limit(5_000_000)


def _distinct(owned: list[A]) -> list[A]:
    ids = [o.id for o in owned]
    if len(set(ids)) != len(ids):
        raise ValueError("the same id is listed twice")
    return owned


#: The owner's accounts of one source: at least one, none twice.
Accounts = Annotated[list[A], AfterValidator(_distinct), Field(min_length=1)]


class MetaSource(Connector):
    """A poll over the owner's accounts, one step (and cursor) per account."""

    per_brand = False
    docs: ClassVar[str]
    config: MetaConfig

    @abstractmethod
    def owned(self) -> Sequence[Owned]:
        """The accounts this source reads."""

    @abstractmethod
    def read(self, graph: MetaGraph, account: Owned, since: datetime) -> Found:
        """Every item of one account this poll looks at, new or not; ``since``: the last
        poll (or ``lookback`` ago), how far back further pages of comments are worth it."""

    def requests_per_poll(self) -> int:
        """Requests a poll makes at least (further pages of comments come on top)."""
        return len(self.config.read) * len(self.owned())

    def graph(self, account: Owned) -> MetaGraph:
        return MetaGraph(
            self.name,
            self.http,
            self.base_url,
            account.page_token or self.config.page_token,
            timeout=self.config.timeout.total_seconds(),
            max_response=int(self.config.max_response),
            state=self.state,
            page=self.docs,
        )

    def fetch(self, queries: Sequence[str], cursor: str | None) -> FetchResult:
        steps = list(self.fetch_pages(queries, cursor))
        return [m for mentions, _ in steps for m in mentions], steps[-1][1] if steps else cursor

    def fetch_pages(self, queries: Sequence[str], cursor: str | None) -> Iterator[FetchResult]:
        """One step per account, each with the cursor that covers it and those before."""
        memory = Memory(self.name, cursor)
        window = Window(self.config.lookback, self.config.recheck)
        failed: list[ConnectorError] = []
        for account in self.owned():
            now = datetime.now(UTC)
            seen = memory.account(account.id, now)
            since = now - self.config.lookback if seen.first else at(seen.last)
            try:
                items = self.read(self.graph(account), account, since)
            except (AuthError, RateLimited):
                raise  # the same token and allowance serve every account
            except ConnectorError as exc:
                failed.append(exc)  # a wrong id: the other accounts are still read
                continue
            mentions = [
                m for m, fp in items if seen.wanted(m.external_id, m.created_at, fp, now, window)
            ]
            for mention in mentions:
                if mention.external_id in seen.edited and mention.edited_at is None:
                    mention.edited_at = now  # the API dates no edits: when it was first seen
            mentions.sort(key=lambda m: m.created_at)
            yield mentions, memory.keep(account.id, seen, now, self.config.recheck)
        if failed and len(failed) == len(self.owned()):
            raise failed[0]
        for error in failed:
            log.warning("%s; the others were read, this one is tried again later", error)

    def thread(
        self,
        graph: MetaGraph,
        holder: dict[str, Any],
        ask: tuple[str, dict[str, str]],
        *,
        where: str,
        needs: str,
        since: datetime,
    ) -> list[dict[str, Any]]:
        """The comments nested in ``holder`` (a post or a medium, newest first) and, while
        they are all newer than ``since``, further pages from ``ask`` (path, params), at
        most ``max_pages``."""
        held = holder.get("comments")
        held = held if isinstance(held, dict) else {}
        comments = [c for c in held.get("data") or [] if isinstance(c, dict)]
        query = next_query(held)
        for _ in range(self.config.max_pages):
            if query is None or oldest(comments) < since:
                return comments
            body = graph.get(ask[0], {**ask[1], **query}, where=where, needs=needs)
            batch = body.get("data")
            if not isinstance(batch, list):
                raise ParseError(self.name, f"the answer for {where} has no `data` list")
            comments += [c for c in batch if isinstance(c, dict)]
            query = next_query(body) if batch else None
        if query is not None and oldest(comments) >= since:
            log.warning(
                "%s: more new comments on one post than %d requests read; older ones were"
                " skipped (raise max_pages or poll more often)",
                self.name,
                self.config.max_pages + 1,
            )
        return comments

    def check_lines(self, online: bool, ask: Any) -> list[str]:
        """``check``: the token, each account proved by ``ask(graph, account) -> line``,
        Meta's last usage figure and what a poll costs."""
        lines = [f"Page token set; {count(len(self.owned()), 'account')}"]
        if online:
            graph: MetaGraph | None = None
            for account in self.owned():
                graph = self.graph(account)
                lines.append(ask(graph, account))
            if graph is not None:
                percent, _ = graph.usage()
                lines.append(f"Meta's rate limit allowance last seen used: {percent}%")
        per_poll = self.requests_per_poll()
        polls = max(1, round(86_400 / max(self.config.every.total_seconds(), 1)))
        lines.append(
            f"a poll costs about {count(per_poll, 'request')}; about {per_poll * polls:,} a day"
            " at this `every`"
        )
        return lines


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def oldest(comments: list[dict[str, Any]]) -> datetime:
    """The oldest time among comments (Facebook's ``created_time``, Instagram's
    ``timestamp``); the distant past when none can be read."""
    times = []
    for comment in comments:
        value = comment.get("created_time") or comment.get("timestamp")
        try:
            times.append(parse_time(value))
        except (TypeError, ValueError):
            continue
    return min(times, default=datetime.min.replace(tzinfo=UTC))
