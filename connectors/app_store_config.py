"""The App Store source's settings (``sources.app_store``): the owner's App Store Connect
key, if any, and the apps to read, each the owner's own or someone else's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import (
    ByteSize,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.app_store_api import FEED_PAGES, load_private_key
from connectors.base import SourceConfig, config_file, response_limit
from monitor.config import Duration, StrictModel


class App(StrictModel):
    """One app whose reviews are read."""

    id: str = Field(
        pattern=r"^\d{6,12}$",
        description="the app's Apple ID: the digits after `id` in its App Store link"
        " (apps.apple.com/us/app/acme/id1234567890), or App Store Connect > App Information",
    )
    brand: str = Field(description="the brand (its `name` under `brands:`) this app is")
    countries: list[str] = Field(
        default=["us"],
        min_length=1,
        description="the App Store countries whose reviews the public feed reads (two letters:"
        " `us`, `gb`, `de`); one request each. With a key every country comes at once",
    )
    own: bool | None = Field(
        default=None,
        description="`true`: your own app (its reviews are about its brand whatever they say);"
        " `false`: someone else's, read by the public feed and kept when a review names the"
        " brand. Unset: `true` when an App Store Connect key is set, else `false`",
    )

    @field_validator("countries")
    @classmethod
    def _codes(cls, values: list[str]) -> list[str]:
        codes = [v.strip().lower() for v in values]
        for code in codes:
            if len(code) != 2 or not code.isascii() or not code.isalpha():
                raise ValueError(f"'{code}' is not a two-letter country code like `us` or `gb`")
        if len(set(codes)) < len(codes):
            raise ValueError("a country is listed twice")
        return codes


class AppStoreConfig(SourceConfig):
    base_url: str = Field(
        default="https://api.appstoreconnect.apple.com",
        description="App Store Connect API's address; change it only for a proxy or a test"
        " stand-in",
    )
    feed_base_url: str = Field(
        default="https://itunes.apple.com",
        description="the public reviews feed's address; change it only for a proxy or a test"
        " stand-in",
    )
    every: Duration = Field(default=timedelta(minutes=30), description="how often to poll")
    issuer_id: str | None = Field(
        default=None,
        description="your App Store Connect API Issuer ID (a UUID, above the keys in Users and"
        " Access > Integrations); unset: only the public feed is read",
    )
    key_id: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9]{8,16}$",
        description="the Key ID of your App Store Connect API key (like `2X9R4HXF34`)",
    )
    private_key: SecretStr | None = Field(
        default=None,
        description="the contents of the key's .p8 file; write `${APP_STORE_PRIVATE_KEY}`, or"
        " give `private_key_file` instead",
    )
    private_key_file: str | None = Field(
        default=None,
        description="where the key's .p8 file is (read when the config is loaded; a relative"
        " path is from the config file's folder)",
    )
    apps: list[App] = Field(min_length=1, description="the apps whose reviews are read")
    lookback: Duration = Field(
        default=timedelta(days=7),
        description="how far back the first poll reaches (older reviews send no alerts)",
    )
    max_pages: int = Field(
        default=5,
        ge=1,
        le=50,
        description="with a key: at most this many pages of 200 reviews per app and poll when"
        " catching up; older new reviews beyond them are skipped, with a warning",
    )
    feed_pages: int = Field(
        default=FEED_PAGES,
        ge=1,
        le=FEED_PAGES,
        description="the public feed: at most this many pages of 50 reviews per app, country"
        " and poll (the feed has 10: the newest 500)",
    )
    hourly_reserve: int = Field(
        default=100,
        ge=0,
        description="with a key: when fewer requests than this are left of the key's hourly"
        " limit, this source waits 15 minutes, leaving them to your other tools",
    )
    #: A page is 200 reviews of at most a few kB each, with their responses.
    max_response: ByteSize = response_limit(5_000_000)

    @field_validator("private_key")
    @classmethod
    def _pem(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            load_private_key(value.get_secret_value())
        return value

    @field_validator("private_key_file")
    @classmethod
    def _readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = config_file(value, info)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValueError(f"there is no file {path}: download the .p8 key again") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "it is not a text file"
            raise ValueError(f"{path} cannot be read ({reason})") from None
        load_private_key(text)
        return str(path)

    @model_validator(mode="after")
    def _whole_key(self) -> AppStoreConfig:
        if self.private_key is not None and self.private_key_file is not None:
            raise ValueError("give either `private_key` or `private_key_file`, not both")
        if self.private_key is None and self.private_key_file is not None:
            text = Path(self.private_key_file).read_text(encoding="utf-8")
            self.private_key = SecretStr(text)
        given = {
            "issuer_id": bool(self.issuer_id),
            "key_id": bool(self.key_id),
            "private_key": bool(self.private_key and self.private_key.get_secret_value()),
        }
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(f"`{k}`" for k, v in given.items() if not v)
            raise ValueError(
                f"an App Store Connect key needs `issuer_id`, `key_id` and `private_key` (or"
                f" `private_key_file`); missing: {missing}"
            )
        ids = [a.id for a in self.apps]
        for app_id in ids:
            if ids.count(app_id) > 1:
                raise ValueError(f"app {app_id} is listed twice")
        return self

    @property
    def has_key(self) -> bool:
        return bool(self.issuer_id and self.key_id and self.private_key)

    def own(self, app: App) -> bool:
        return self.has_key if app.own is None else app.own

    def by_key(self, app: App) -> bool:
        return self.has_key and self.own(app)
