"""The ``slack`` channel's settings: an incoming webhook, or the Slack app.

Exactly one of ``webhook_url`` (alerts/slack.py posts to it) and ``bot_token`` with
``channel`` (the app: alerts/slack_app.py, with buttons; docs/channels/slack-app.md). The
app's own keys (``app_token``, ``signing_secret``, ``allowed_users``) need ``bot_token``.
Secrets are ``SecretStr`` and never repeated in an error.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alerts.base import ChannelConfig


class SlackConfig(ChannelConfig):
    """A Slack incoming webhook (``webhook_url``), or a Slack app (``bot_token`` and
    ``channel``; docs/channels/slack-app.md) whose alerts carry buttons; and how much of
    each mention to show."""

    model_config = ConfigDict(hide_input_in_errors=True)

    type: Literal["slack"] = "slack"
    webhook_url: SecretStr | None = Field(
        default=None,
        description="the incoming webhook's address, as `${SLACK_WEBHOOK_URL}`; anyone who has"
        " it can post to your channel. Either this or `bot_token`",
    )
    bot_token: SecretStr | None = Field(
        default=None,
        description="instead of `webhook_url`: the Slack app's Bot User OAuth Token (`xoxb-…`),"
        " as `${SLACK_BOT_TOKEN}`; alerts then carry buttons (docs/channels/slack-app.md)",
    )
    channel: str | None = Field(
        default=None,
        description='with `bot_token`: where to post, a name in quotes (`"#mentions"`) or a'
        " channel id (`C0123456789`)",
    )
    app_token: SecretStr | None = Field(
        default=None,
        description="the Slack app's app-level token (`xapp-…`), as `${SLACK_APP_TOKEN}`:"
        " button presses arrive over Socket Mode, no public address needed",
    )
    signing_secret: SecretStr | None = Field(
        default=None,
        description="instead of `app_token`, with `web.public_url`: presses arrive at"
        " `<public_url>/slack/actions`, signed with this secret",
    )
    allowed_users: list[str] | None = Field(
        default=None,
        description="Slack member ids (`U012AB3CD`) who may press the buttons; unset: the"
        " channel's members",
    )
    base_url: str = Field(
        default="https://slack.com/api",
        description="the Slack Web API's address; only a test or a local stand-in changes it",
    )
    max_text: int = Field(
        default=1200,
        ge=50,
        le=2900,
        description="characters of a mention shown before it is cut with `…`",
    )
    mention_channel_on_high: bool = Field(
        default=False,
        description="`true`: a message with a `high` alert starts with `@channel`, so everyone"
        " in the channel is notified",
    )

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None:
            return None
        problem = (
            "is not an http(s) URL: paste the whole URL Slack shows for the incoming webhook, "
            "like https://hooks.slack.com/services/T…/B…/… (the value is not repeated here "
            "because it is a secret)"
        )
        if not isinstance(raw, str):
            raise ValueError(problem)
        try:
            parts = urlsplit(raw.strip())
            host = parts.hostname
        except ValueError:
            raise ValueError(problem) from None
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError(problem)
        return raw.strip()

    @field_validator("bot_token", "app_token", mode="before")
    @classmethod
    def _token(cls, value: object, info: ValidationInfo) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None:
            return None
        prefix, where = _TOKENS[info.field_name or ""]
        if not isinstance(raw, str) or not raw.strip().startswith(prefix):
            raise ValueError(
                f"is not a Slack {prefix}… token: copy it from your Slack app's {where} "
                "(the value is not repeated here because it is a secret)"
            )
        return raw.strip()

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL.fullmatch(value.strip()):
            raise ValueError(
                f'{value!r} is not a Slack channel: write its name like "#mentions" '
                "(in quotes: YAML reads # as a comment) or its id like C0123456789"
            )
        return None if value is None else value.strip()

    @field_validator("allowed_users")
    @classmethod
    def _users(cls, value: list[str] | None) -> list[str] | None:
        for user in value or []:
            if not _USER.fullmatch(user.strip()):
                raise ValueError(
                    f"{user!r} is not a Slack member id: ids look like U012AB3CD (in Slack, "
                    "a person's profile > ⋮ > Copy member ID)"
                )
        return None if value is None else [u.strip() for u in value]

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if urlsplit(value.strip()).scheme not in ("http", "https"):
            raise ValueError(f"{value!r} is not an http(s) URL like https://slack.com/api")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _one_way(self) -> SlackConfig:
        if (self.webhook_url is None) == (self.bot_token is None):
            raise ValueError(
                "give either `webhook_url` (an incoming webhook: alerts only) or `bot_token` "
                "with `channel` (the Slack app: alerts with buttons), not both or neither"
            )
        if self.bot_token is not None and self.channel is None:
            raise ValueError(
                "`bot_token` needs `channel`, the channel to post in, in quotes: channel: "
                '"#mentions" (YAML reads an unquoted # as the start of a comment)'
            )
        if self.bot_token is None:
            given = [k for k in _APP_KEYS if getattr(self, k) is not None]
            if given:
                raise ValueError(f"`{given[0]}` is for the Slack app: it needs `bot_token`")
        return self


#: The token keys: what each token starts with, and where in the app's settings it is.
_TOKENS = {
    "bot_token": ("xoxb-", "OAuth & Permissions page (Bot User OAuth Token)"),
    "app_token": ("xapp-", "Basic Information page (App-Level Tokens)"),
}
_APP_KEYS = ("channel", "app_token", "signing_secret", "allowed_users")
_CHANNEL = re.compile(r"#?[a-z0-9][a-z0-9_\-]{0,79}|[CG][A-Z0-9]{6,}")
_USER = re.compile(r"[UW][A-Z0-9]{6,}")
