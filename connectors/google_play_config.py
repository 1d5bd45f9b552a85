"""The settings of the Google Play source (``sources.google_play``): the service account's
key, the apps and their brands, the polling and quota limits (connectors/google_play.py).

The key is read when the config is loaded, so a missing file, a file that is not JSON, or one
that is not a service account's key is a config error naming ``service_account_file`` (or
``service_account_json``); no error quotes the file, which holds the private key.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from pydantic import ByteSize, Field, SecretStr, ValidationInfo, field_validator, model_validator

from connectors.base import SourceConfig, config_file, response_limit
from connectors.google_service_account import ServiceAccount, read_account, read_key_file
from monitor.config import Duration, StrictModel
from monitor.errors import AuthError

#: An Android package name (application id): two or more dot-separated Java-like names.
PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")
#: How far back reviews.list reaches: reviews created or modified in the last week.
WINDOW = timedelta(days=7)


class App(StrictModel):
    """One of the owner's apps on Google Play."""

    package: str = Field(
        description="the app's package name, like `com.acme.app` (the `id=` of its Play Store"
        " address)",
    )
    brand: str = Field(description="the brand (its `name` under `brands:`) the app belongs to")
    link: str | None = Field(
        default=None,
        description="the address each review opens (starting with https://), e.g. the app's"
        " Reviews page in Play Console; unset: the app's Play Store page",
    )

    @field_validator("package")
    @classmethod
    def _package(cls, value: str) -> str:
        if not PACKAGE.fullmatch(value.strip()):
            raise ValueError(
                f"'{value}' is not a package name: write the app's id, like `com.acme.app` (the"
                " `id=` part of its Play Store address)"
            )
        return value.strip()

    @field_validator("link")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None or re.fullmatch(r"https?://\S+", value.strip()):
            return value
        raise ValueError("write the whole address, starting with https://")


class GooglePlayConfig(SourceConfig):
    base_url: str = Field(
        default="https://androidpublisher.googleapis.com",
        description="the API's address; change it only for a proxy or a test stand-in",
    )
    every: Duration = Field(
        default=timedelta(minutes=30),
        description="how often to poll (1 request an app a poll: 30m is 2 an hour of the 200"
        " Google allows). Google keeps a review in the API for 7 days only: keep this well"
        " under a day",
    )
    token_url: str | None = Field(
        default=None,
        description="Google's OAuth token address; unset: the key file's `token_uri`. Change it"
        " only for a proxy or a test stand-in",
    )
    service_account_file: str | None = Field(
        default=None,
        description="the path of the service account's JSON key file (a relative one is taken"
        " from the config file's folder; keep the file readable by mention-monitor only); or"
        " give `service_account_json`",
    )
    service_account_json: SecretStr | None = Field(
        default=None,
        description="the JSON key itself, for setups that pass files as variables; write"
        " `${GOOGLE_PLAY_SERVICE_ACCOUNT}`",
    )
    apps: list[App] = Field(min_length=1, description="the apps whose reviews are read")
    translation_language: str | None = Field(
        default=None,
        description="a language like `en` or `de-DE`: Google translates the reviews into it"
        " (the original stays in the stored copy); unset: as written",
    )
    hourly_quota: int = Field(
        default=200,
        ge=1,
        description="requests this source may make an hour per app (Google allows 200); polling"
        " that app stops there until the next hour",
    )
    max_pages: int = Field(
        default=5,
        ge=1,
        le=50,
        description="at most this many requests (of 100 reviews) per app and poll",
    )
    lookback: Duration = Field(
        default=WINDOW,
        description="how far back the first poll reports reviews (at most the API's 7 days)",
    )
    #: A page is 100 reviews of at most a few kB each.
    max_response: ByteSize = response_limit(5_000_000)

    @field_validator("translation_language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is None or re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", value):
            return value
        raise ValueError(f"'{value}' is not a language code: write one like `en` or `de-DE`")

    @field_validator("service_account_file")
    @classmethod
    def _readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The key file's whole path (relative: from the config file's folder), read once."""
        if value is None:
            return None
        path = config_file(value, info)
        read_account(read_key_file(path, "service_account_file"), f"the file {path}")
        return str(path)

    @field_validator("service_account_json")
    @classmethod
    def _parsable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            read_account(value.get_secret_value(), "service_account_json")
        return value

    @model_validator(mode="after")
    def _one_key(self) -> GooglePlayConfig:
        given = self.service_account_file is not None, self.service_account_json is not None
        if all(given):
            raise ValueError("give `service_account_file` or `service_account_json`, not both")
        if not any(given):
            raise ValueError(
                "give `service_account_file:` (the path of the service account's JSON key)"
                " or `service_account_json: ${GOOGLE_PLAY_SERVICE_ACCOUNT}`"
            )
        packages = [a.package for a in self.apps]
        if len(set(packages)) != len(packages):
            raise ValueError("an app is listed twice under `apps:`")
        return self

    def account(self) -> ServiceAccount:
        """The key's service account; AuthError if it cannot be read (any more)."""
        try:
            if self.service_account_file is not None:
                text = read_key_file(Path(self.service_account_file), "service_account_file")
                return read_account(text, f"the file {self.service_account_file}")
            secret = (
                self.service_account_json.get_secret_value() if self.service_account_json else ""
            )
            if not secret.strip():
                raise ValueError(
                    "service_account_json is empty (is GOOGLE_PLAY_SERVICE_ACCOUNT set?)"
                )
            return read_account(secret, "service_account_json")
        except ValueError as exc:
            raise AuthError(
                "google_play", str(exc), hint="docs/sources/google_play.md, How to get"
            ) from None
