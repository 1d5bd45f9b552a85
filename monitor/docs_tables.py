"""Tables of config keys for the docs: each key's type in an owner's words, its default
as written in config.yaml, and its description, read from the pydantic models.

Used by monitor/docs_reference.py, which decides the sections and writes the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MinLen
from pydantic import BaseModel, ByteSize, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined


@dataclass
class Section:
    """One table: a model's keys under a heading, with what to say around it."""

    title: str
    model: type[BaseModel]
    intro: str
    keys: list[str] | None = None
    defaults: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    after: str = ""
    level: int = 2


def slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


_WORDS: dict[Any, tuple[str, str]] = {
    bool: ("`true` or `false`", "`true`s or `false`s"),
    int: ("whole number", "whole numbers"),
    float: ("number", "numbers"),
    str: ("text", "texts"),
    SecretStr: ("secret", "secrets"),
    timedelta: ("duration", "durations"),
    ByteSize: ("size", "sizes"),
}


class Reference:
    """Renders sections; knows each model's anchor so a nested key can link to it."""

    def __init__(self, sections: list[Section]) -> None:
        self.sections = sections
        self.anchors = {s.model: slug(s.title) for s in sections}
        self.missing: list[str] = []

    def type_words(self, annotation: Any, prefix: str, plural: bool = False) -> str:
        annotation = unwrap(annotation)
        origin = get_origin(annotation)
        if origin in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not NoneType]
            return " or ".join(self.type_words(a, prefix, plural) for a in args)
        if origin is Literal:
            return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
        if origin is list:
            return "list of " + self.type_words(get_args(annotation)[0], prefix, plural=True)
        if origin is dict:
            value = self.type_words(get_args(annotation)[1], prefix, plural=True)
            return f"names, each with its {value}"
        if is_model(annotation):
            title = next(s.title for s in self.sections if s.model is annotation)
            return f"settings: [{title}]({prefix}#{self.anchors[annotation]})"
        words = _WORDS.get(annotation)
        if words is None:
            raise TypeError(f"no owner's words for the type {annotation!r}: add it to _WORDS")
        return words[1] if plural else words[0]

    def row(self, model: type[BaseModel], name: str, section: Section, prefix: str) -> str:
        info = model.model_fields[name]
        key = info.alias or name
        kind = section.types.get(name) or self.type_words(info.annotation, prefix)
        kind += _limits(info)
        default = section.defaults.get(name) or default_text(info)
        text = description(model, name)
        if text is None:
            self.missing.append(f"{model.__module__}.{model.__qualname__}.{name}")
            text = ""
        cells = [f"`{key}`", kind, default, text]
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    def table(self, section: Section, prefix: str = "") -> str:
        names = section.keys if section.keys is not None else list(section.model.model_fields)
        lines = ["| key | type | default | what it does |", "|---|---|---|---|"]
        lines += [self.row(section.model, name, section, prefix) for name in names]
        return "\n".join(lines)

    def render(self, section: Section, prefix: str = "") -> str:
        parts = ["#" * section.level + " " + section.title, section.intro.strip()]
        parts.append(self.table(section, prefix))
        if section.after:
            parts.append(section.after.strip())
        return "\n\n".join(parts)


def description(model: type[BaseModel], name: str) -> str | None:
    """The field's description, or the one of the class it redeclares."""
    for cls in model.__mro__:
        info = getattr(cls, "model_fields", {}).get(name)
        if isinstance(info, FieldInfo) and info.description:
            return " ".join(info.description.split())
    return None


def _limits(info: FieldInfo) -> str:
    low = high = ""
    for meta in info.metadata:
        if isinstance(meta, Ge):
            low = f"at least {_number(meta.ge)}"
        elif isinstance(meta, Gt):
            low = f"above {_number(meta.gt)}"
        elif isinstance(meta, Le):
            high = f"at most {_number(meta.le)}"
        elif isinstance(meta, Lt):
            high = f"below {_number(meta.lt)}"
        elif isinstance(meta, MinLen) and unwrap(info.annotation) is str:
            low = "not empty" if meta.min_length == 1 else f"{meta.min_length}+ characters"
        elif isinstance(meta, MinLen) and meta.min_length:
            low = "at least one" if meta.min_length == 1 else f"at least {meta.min_length}"
    if unwrap(info.annotation) is ByteSize:
        return ""  # the range of a size is the source's business, said in its description
    if low.startswith("at least ") and high.startswith("at most ") and "one" not in low:
        return f", {low.removeprefix('at least ')} to {high.removeprefix('at most ')}"
    return "".join(f", {part}" for part in (low, high) if part)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def default_text(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return shown(info.default_factory())  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        return "*required*"
    return shown(info.default)


def shown(value: Any) -> str:
    """A default as it would be written in config.yaml."""
    if value is None:
        return "not set"
    if isinstance(value, BaseModel):
        return "its keys' defaults"
    if isinstance(value, str) and not value:
        return "empty"
    return f"`{_yaml(value)}`"


def _duration(seconds: int) -> str:
    """``24h`` and ``48h`` as an owner says them; whole weeks and more in days."""
    if seconds >= 3 * 86400 and seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    hours, rest = divmod(seconds, 3600)
    parts = zip((hours, rest // 60, rest % 60), "hms", strict=True)
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return _duration(int(value.total_seconds()))
    if isinstance(value, ByteSize):
        for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
            if value >= size and value % size == 0:
                return f"{value // size}{unit}"
        return str(int(value))
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return str(value)
