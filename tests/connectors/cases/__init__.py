"""One module per connector: how the shared contract test stands in for its API.

Each module defines ``CASE``: a ``Case`` whose stand-in API holds one mention of
"Acme" ("Acme is terrible today") and whose config reaches it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.standins.server import Route


@dataclass
class Case:
    name: str
    make_api: Callable[[], Route]
    config: Callable[[str], dict[str, Any]]  # stand-in root URL -> the source's config
    #: For a source that reads the owner's own page (reviews) whatever the keywords: takes
    #: the stand-in API and leaves the page with nothing on it, for the "empty" test.
    empty: Callable[[Any], None] | None = None
    #: For a source that reads the owner's own page rather than searching keywords (reviews):
    #: the config of an own page with nothing on it, for the "empty answer" test.
    empty_config: Callable[[str], dict[str, Any]] | None = None


def all_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        case: Case = module.CASE
        cases[case.name] = case
    return cases
