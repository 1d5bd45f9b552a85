"""Reading config.yaml's text: YAML with the line of every key, and its slips in plain words.

The tree is ruamel's round-trip one, quotes kept (``check`` shows values as written). Before
parsing, an indentation with tabs is named line by line; the parser's own complaints
("mapping values are not allowed here") become what to do ("put a value that holds ': ' in
quotes"). ``$VAR`` without braces is found here too: it is one problem, "write ${VAR}".
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from monitor.errors import ConfigError


class Lines:
    """Remembers the YAML line of every key path, to put it in error messages."""

    def __init__(self) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}

    def record(self, node: Any, path: tuple[Any, ...] = ()) -> None:
        if isinstance(node, CommentedMap):
            for key in node:
                self.lines[(*path, key)] = node.lc.key(key)[0] + 1
                self.record(node[key], (*path, key))
        elif isinstance(node, CommentedSeq):
            for i, item in enumerate(node):
                self.lines[(*path, i)] = node.lc.item(i)[0] + 1
                self.record(item, (*path, i))

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


_YAML_WORDS: list[tuple[str, str]] = [
    (
        r"found character '\\t'",
        "indent with spaces, not tabs",
    ),
    (
        r"found character '([@`])' that cannot start any token",
        'a value that starts with {0} must be in quotes, e.g. "{0}acmecoffee"',
    ),
    (
        r"found character '(.)' that cannot start any token",
        "a value cannot start with {0} here: put the value in quotes",
    ),
    (
        r"mapping values are not allowed here",
        'a second ": " on one line: put a value that holds ": " in quotes, '
        'e.g. name: "Acme: the café"',
    ),
    (
        r"found duplicate key \"([^\"]*)\"",
        "`{0}` is written twice in the same place: keep one",
    ),
    (
        r"could not find expected ':'",
        "a line that is not `key: value` (a missing colon, or a line indented wrongly)",
    ),
    (
        r"expected <block end>",
        "the indentation does not line up: keys of one block, and the `-` of one list, "
        "start in the same column",
    ),
    (
        r"expected ',' or '\]'",
        "a list in [brackets] is not closed with ] (or its items are not separated by commas)",
    ),
    (
        r"expected ',' or '\}'",
        "settings in {braces} are not closed with } (or are not separated by commas)",
    ),
    (
        r"found unexpected end of stream",
        "a quote is opened but never closed",
    ),
    (
        r"found unknown escape character",
        "a backslash in \"double quotes\" starts an escape: use 'single quotes' instead",
    ),
    (
        r"found undefined alias",
        "a value cannot start with *: put it in quotes",
    ),
]


def yaml_problem(problem: str) -> str:
    """The YAML parser's complaint in plain words (its own words when we have none)."""
    for pattern, words in _YAML_WORDS:
        match = re.search(pattern, problem)
        if match:
            return words.format(*match.groups())
    return f"this line is not valid YAML ({problem})"


_TABBED = re.compile(r"^ *\t")


def tab_lines(text: str) -> list[int]:
    """Line numbers (from 1) whose indentation holds a tab, comments and blank lines aside."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if _TABBED.match(line) and stripped and not stripped.startswith("#"):
            found.append(number)
    return found


#: ``$NAME`` without braces (``$$`` and ``${`` aside).
DOLLAR = re.compile(r"(?<![$\w])\$([A-Za-z_][A-Za-z0-9_]*)")


def dollar_names(value: str) -> list[str]:
    """The ``$NAME`` references without braces in a value."""
    return DOLLAR.findall(value)


def load_yaml(text: str, filename: str) -> dict[str, Any]:
    """The YAML tree as written (quotes kept, for `check`); its problems in plain words."""
    tabs = tab_lines(text)
    if tabs:
        raise ConfigError(
            [
                f"{filename}:{n}: indent with spaces, not tabs (this line starts with a tab)"
                for n in tabs
            ]
        )
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = yaml_problem(str(exc.problem or exc))
        raise ConfigError(f"{filename}{line}: {problem}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{filename}: must be a mapping with at least `brands:` and `sources:`")
    return tree


def find_dollars(
    node: Any, env: dict[str, str], path: tuple[Any, ...] = ()
) -> list[tuple[tuple[Any, ...], str]]:
    """``$VAR`` written without braces: (key path, "write ${VAR}: ...") for each value.

    A brand's own words may hold a cashtag (``$ACME``): there only a name that is set in the
    environment counts as meant for it."""
    found: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += find_dollars(value, env, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += find_dollars(value, env, (*path, i))
    elif isinstance(node, str):
        names = [n for n in dollar_names(node) if path[:1] != ("brands",) or n in env]
        if names:
            fix = ", ".join(f"${{{n}}}" for n in names)
            found.append((path, f"write {fix}: with braces, to use the environment variable"))
    return found
