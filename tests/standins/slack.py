"""A stand-in for a Slack incoming webhook.

Docs: https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks
Accepts ``POST /services/T000/B000/<token>`` with a JSON message and answers
like Slack: ``200 ok``; ``404 no_service`` for another path; ``400
invalid_payload`` for a body that is not a JSON object, ``400 no_text`` without
``text``, and ``400 invalid_blocks`` when the blocks break Block Kit's
documented rules (https://docs.slack.dev/reference/block-kit/blocks): at most
50 blocks of type header, section, context, actions or divider; header text
plain_text <= 150; section text <= 3000 and fields <= 10 (each <= 2000);
context elements <= 10 text objects; actions buttons with plain_text text <=
75 and url <= 3000; every text object 1-3000. Lengths are counted in UTF-16
units. Accepted payloads are kept in ``payloads``, the reasons for refusals in
``problems``.

Outages, until ``recover()``: ``rate_limit(seconds)`` answers every post ``429
rate_limited`` with ``Retry-After`` (Slack's documented answer to more than
about one message a second), ``fail(500)`` answers ``500 rollup_error``.
``stall(seconds)`` accepts the next message (it is kept in ``payloads``) and
then waits before answering, like a slow Slack, so a test can stop the sender
while it waits.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from tests.standins.server import Request, Response

BLOCK_TYPES = {"header", "section", "context", "actions", "divider"}
TOP_KEYS = {"text", "blocks", "attachments", "unfurl_links", "unfurl_media", "mrkdwn", "thread_ts"}


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text_problems(
    obj: Any, where: str, limit: int = 3000, *, plain_only: bool = False
) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: a text object must be an object"]
    kinds = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    problems = []
    if obj.get("type") not in kinds:
        problems.append(f"{where}: type must be one of {sorted(kinds)}")
    allowed = {"type", "text", "emoji" if obj.get("type") == "plain_text" else "verbatim"}
    if set(obj) - allowed:
        problems.append(f"{where}: unknown keys {sorted(set(obj) - allowed)}")
    text = obj.get("text")
    if not isinstance(text, str) or not 1 <= units(text) <= min(limit, 3000):
        problems.append(f"{where}: text must be a string of 1-{limit} characters")
    return problems


def button_problems(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or element.get("type") != "button":
        return [f"{where}: only buttons are expected here"]
    problems = text_problems(element.get("text"), f"{where}.text", 75, plain_only=True)
    if set(element) - {"type", "text", "url", "action_id", "value", "style"}:
        problems.append(f"{where}: unknown keys")
    url = element.get("url")
    if url is not None and (not isinstance(url, str) or not 1 <= units(url) <= 3000):
        problems.append(f"{where}.url: must be 1-3000 characters")
    if len(str(element.get("action_id", ""))) > 255:
        problems.append(f"{where}.action_id: longer than 255")
    if element.get("style") not in (None, "primary", "danger"):
        problems.append(f"{where}.style: must be primary or danger")
    return problems


def block_problems(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"{where}: a block must be an object"]
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [f"{where}: unknown block type {kind!r}"]
    if len(str(block.get("block_id", ""))) > 255:
        return [f"{where}.block_id: longer than 255"]
    if kind == "header":
        return text_problems(block.get("text"), f"{where}.text", 150, plain_only=True)
    if kind == "section":
        problems = []
        if "text" not in block and "fields" not in block:
            problems.append(f"{where}: a section needs text or fields")
        if "text" in block:
            problems += text_problems(block["text"], f"{where}.text")
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            problems.append(f"{where}.fields: at most 10")
        else:
            for i, f in enumerate(fields):
                problems += text_problems(f, f"{where}.fields[{i}]", 2000)
        if "accessory" in block:
            problems += button_problems(block["accessory"], f"{where}.accessory")
        return problems
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return [f"{where}.elements: 1-10 elements"]
        return [p for i, e in enumerate(elements) for p in text_problems(e, f"{where}[{i}]")]
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return [f"{where}.elements: 1-25 elements"]
        return [p for i, e in enumerate(elements) for p in button_problems(e, f"{where}[{i}]")]
    return [f"{where}: a divider has no content"] if set(block) - {"type", "block_id"} else []


def message_problems(payload: dict[str, Any]) -> list[str]:
    problems = []
    if set(payload) - TOP_KEYS:
        problems.append(f"unknown top-level keys {sorted(set(payload) - TOP_KEYS)}")
    blocks = payload.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return [*problems, "blocks: a list of at most 50"]
    for i, block in enumerate(blocks):
        problems += block_problems(block, f"blocks[{i}]")
    return problems


class SlackWebhook:
    """The route: one webhook whose path ends in ``token``."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_hex(12)
        self.path = f"/services/T000/B000/{self.token}"
        self.payloads: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.outage: Response | None = None
        self.stall_for = 0.0

    def rate_limit(self, seconds: int) -> None:
        self.outage = Response(429, "rate_limited", headers={"Retry-After": str(seconds)})

    def fail(self, status: int = 500) -> None:
        self.outage = Response(status, "rollup_error" if status >= 500 else "invalid_payload")

    def stall(self, seconds: float) -> None:
        self.stall_for = seconds

    def recover(self) -> None:
        self.outage, self.stall_for = None, 0.0

    def __call__(self, request: Request) -> Response:
        if self.outage is not None:
            outage = self.outage
            headers = {"Content-Type": "text/plain; charset=utf-8", **outage.headers}
            return Response(outage.status, outage.body, headers=headers)
        if request.path != self.path:
            return _answer(404, "no_service")
        if request.method != "POST":
            return _answer(405, "invalid_method")
        try:
            payload = json.loads(request.body)
        except ValueError:
            return _answer(400, "invalid_payload")
        if not isinstance(payload, dict):
            return _answer(400, "invalid_payload")
        if not isinstance(payload.get("text"), str) or not payload["text"]:
            return _answer(400, "no_text")
        problems = message_problems(payload)
        if problems:
            self.problems += problems
            return _answer(400, "invalid_blocks")
        self.payloads.append(payload)
        answer = _answer(200, "ok")
        answer.delay, self.stall_for = self.stall_for, 0.0
        return answer


def _answer(status: int, body: str) -> Response:
    return Response(status, body, headers={"Content-Type": "text/plain; charset=utf-8"})


def texts(payload: Any) -> Iterator[str]:
    """Every string Slack renders: the values of ``text`` keys, anywhere."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from texts(item)


def strings(payload: Any) -> Iterator[str]:
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, dict):
        for value in payload.values():
            yield from strings(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from strings(item)


def text_objects(payload: Any) -> Iterator[dict[str, Any]]:
    """Every Block Kit text object (``plain_text`` or ``mrkdwn``) in the message's blocks."""
    if isinstance(payload, dict):
        if payload.get("type") in ("plain_text", "mrkdwn") and isinstance(payload.get("text"), str):
            yield payload
        for value in payload.values():
            yield from text_objects(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from text_objects(item)
