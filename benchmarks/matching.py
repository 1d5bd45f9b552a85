"""Matching and the scorer's name stripping at 10, 100 and 1,000 keywords: today's code
against the code before the Aho-Corasick scan, side by side, on the same texts.

Measured, on one core in this one process, rounds interleaved, median of ``--repeat``,
in CPU seconds of this process (``time.process_time``: on a shared machine the others'
load weighs less than on a wall clock):

1. Matching, as the pipeline calls it (``match(text, watching brands)``) and bare
   (``match(text)``), over 5 keywords a brand (a name, its handle, its tag, "<name>
   support", a joined form) for 2, 20 and 200 brands. "before" is a copy of the matcher
   as it was (every brand's needle test and patterns in turn, the watching brands as a
   list); "now" is ``monitor.matching.Matcher``. Both must give the same matches on
   every text (checked, printed; nothing is asserted).
2. The default scorer (``ComplaintScorer``) with 4, 100 and 1,000 brands, on texts that
   name the first four: "before" takes the names out with one alternation of every
   brand's names (the code before ``NameStripper``), "now" with the pre-scan. Same
   scores checked.

Floors (issue 15), printed PASS or FAIL: matching over 1,000 keywords >= 20,000
posts/s as the pipeline calls it; the scorer at 1,000 brands within 20% of its speed
at 4.

Run: ``.venv/bin/python benchmarks/matching.py [--texts N] [--repeat N] [--seed N]``.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from monitor.config import BrandConfig
from monitor.matching import Match, Matcher, _pattern, keyword_needles, normalise
from monitor.sentiment import ComplaintScorer

MATCH_FLOOR = 20_000.0
SCORER_SPREAD = 0.20
ADJECTIVES = (
    "acme bolt harbour fern golden silver maple cedar river stone north copper lucky urban "
    "little bright happy royal swift blue red green amber ivory jade coral misty sunny quiet "
    "wild noble brave clever gentle rapid humble proud tidy jolly rustic velvet crystal"
).split()
NOUNS = (
    "coffee bikes bakery florist roastery books cycles garden kitchen studio market supply "
    "works outfitters tailor brewery cafe deli grocer optics pharmacy salon barber cinema "
    "hotel hostel pizza noodles burger tacos sushi candles pottery jewels shoes toys games "
    "records guitars"
).split()
FILLER = (
    "ordered the new latte yesterday and it arrived late again honestly not sure what "
    "happened support said they would call back but nothing so far the staff were lovely "
    "though and the place was clean maybe next time"
).split()
EMOJI = ["☕", "😡", "🙄", "😍", "👍", "🙏", "✨"]


def make_brands(count: int) -> list[BrandConfig]:
    brands = []
    for i in range(count):
        adjective = ADJECTIVES[i % len(ADJECTIVES)]
        noun = NOUNS[(i // len(ADJECTIVES) + i) % len(NOUNS)]
        name = f"{adjective.title()} {noun.title()}"
        if i >= len(ADJECTIVES) * len(NOUNS) // 2:
            name = f"{name} {i}"
        joined = name.replace(" ", "").lower()
        brands.append(
            BrandConfig(
                name=name,
                keywords=[name, f"@{joined}", f"#{joined}", f"{name} support", f"{joined}hq"],
                exclude=[f"{name} Holdings"] if i % 7 == 0 else [],
            )
        )
    return brands


def make_texts(brands: Sequence[BrandConfig], count: int, seed: int) -> list[str]:
    """Posts of about 180 characters: 60% name one brand, 10% two, 30% none (but many of
    those hold a brand's words on their own, which the matcher must turn down)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        roll = rng.random()
        named = rng.sample(list(brands), 2 if roll < 0.1 and len(brands) > 1 else 1)
        if roll >= 0.7:
            named = []
        words = rng.sample(FILLER, rng.randint(14, 24))
        for brand in named:
            form = rng.choice([*brand.keywords, brand.name.upper(), brand.name.replace(" ", "-")])
            words.insert(rng.randrange(len(words) + 1), form)
        if not named or rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), rng.choice(ADJECTIVES).title())
            words.insert(rng.randrange(len(words) + 1), rng.choice(NOUNS))
        texts.append(" ".join(words) + " " + rng.choice(EMOJI))
    return texts


# ---------------------------------------------------------------- the matcher before


class _BrandBefore:
    def __init__(self, brand: BrandConfig) -> None:
        self.name = brand.name
        self.needles = keyword_needles(brand.keywords)
        self.terms = [(kw, re.compile(_pattern(kw))) for kw in brand.keywords]
        self.any = re.compile("|".join(f"(?:{_pattern(kw)})" for kw in brand.keywords))
        self.exclude = (
            re.compile("|".join(f"(?:{_pattern(x)})" for x in brand.exclude))
            if brand.exclude
            else None
        )

    def match(self, text: str) -> Match | None:
        if not any(needle in text for needle in self.needles) or not self.any.search(text):
            return None
        if self.exclude is not None and self.exclude.search(text):
            return None
        return Match(self.name, tuple(kw for kw, rx in self.terms if rx.search(text)))


class MatcherBefore:
    """The matcher before the Aho-Corasick scan, as it was (a copy, for comparison)."""

    def __init__(self, brands: Iterable[BrandConfig]) -> None:
        self._brands = [_BrandBefore(b) for b in brands]

    def match(self, text: str, brands: Collection[str] | None = None) -> list[Match]:
        folded = normalise(text)
        return [
            m
            for b in self._brands
            if brands is None or b.name in brands
            if (m := b.match(folded)) is not None
        ]


# ---------------------------------------------------------------- the names before


class _NamesBefore:
    """One alternation of every brand's names, tried at every position (as before)."""

    def __init__(self, pattern: re.Pattern[str] | None) -> None:
        self.pattern = pattern

    def sub(self, text: str) -> str:
        return self.pattern.sub(" ", text) if self.pattern is not None else text


def scorer_before(brands: list[BrandConfig]) -> ComplaintScorer:
    scorer = ComplaintScorer(brands=brands)
    scorer._names = _NamesBefore(scorer._names.pattern)  # type: ignore[assignment]
    return scorer


# ---------------------------------------------------------------- timing


@dataclass
class Row:
    label: str
    before: list[float]
    now: list[float]
    same: bool

    def line(self, unit: str) -> str:
        b, n = statistics.median(self.before), statistics.median(self.now)
        return (
            f"  {self.label:<34} before {b:>9,.0f} {unit}/s   now {n:>9,.0f} {unit}/s   "
            f"x{n / b:5.1f}   {'same results' if self.same else 'RESULTS DIFFER'}"
        )


def rate(func: Callable[[str], object], texts: list[str]) -> float:
    started = time.process_time()
    for text in texts:
        func(text)
    return len(texts) / (time.process_time() - started)


def compare(
    label: str,
    before: Callable[[str], object],
    now: Callable[[str], object],
    texts: list[str],
    repeat: int,
) -> Row:
    same = all(before(t) == now(t) for t in texts)
    row = Row(label, [], [], same)
    for _ in range(repeat):
        row.before.append(rate(before, texts))
        row.now.append(rate(now, texts))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--texts", type=int, default=5_000, help="texts (default 5000)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the median counts")
    parser.add_argument("--seed", type=int, default=15, help="generator seed")
    args = parser.parse_args(argv)
    if args.texts < 1 or args.repeat < 1:
        parser.error("--texts and --repeat must be positive")

    print(f"{args.texts} texts of ~180 chars, median of {args.repeat} interleaved rounds\n")
    print("matching (posts/s):")
    ok = True
    piped: dict[int, Row] = {}
    for keywords in (10, 100, 1_000):
        brands = make_brands(keywords // 5)
        texts = make_texts(brands, args.texts, args.seed)
        before, now = MatcherBefore(brands), Matcher(brands)
        watching_list = [b.name for b in brands]  # how the pipeline passed them before
        watching_set = frozenset(watching_list)  # and now
        found = sum(1 for t in texts if now.match(t))
        print(f" {keywords} keywords, {len(brands)} brands ({found} of the texts match):")
        row = compare(
            "as the pipeline calls it",
            lambda t, m=before, w=watching_list: m.match(t, w),  # type: ignore[misc]
            lambda t, m=now, w=watching_set: m.match(t, w),  # type: ignore[misc]
            texts,
            args.repeat,
        )
        piped[keywords] = row
        print(row.line("posts"))
        print(
            compare("bare match(text)", before.match, now.match, texts, args.repeat).line("posts")
        )
        ok = ok and row.same

    print("\nthe default scorer (texts/s), texts naming the first 4 brands:")
    first = make_brands(4)
    texts = make_texts(first, args.texts, args.seed)
    counts = (4, 100, 1_000)
    scorers = {
        n: (scorer_before(make_brands(n)), ComplaintScorer(brands=make_brands(n))) for n in counts
    }
    rows = {
        n: Row(f"{n} brands", [], [], all(b.score(t) == c.score(t) for t in texts))
        for n, (b, c) in scorers.items()
    }
    # Every round times every brand count, so that a busy spell weighs on all alike.
    for _ in range(args.repeat):
        for n, (before_scorer, now_scorer) in scorers.items():
            rows[n].before.append(rate(before_scorer.score, texts))
            rows[n].now.append(rate(now_scorer.score, texts))
    speeds: dict[int, float] = {}
    for n, row in rows.items():
        speeds[n] = statistics.median(row.now)
        print(row.line("texts"))
        ok = ok and row.same

    matching = statistics.median(piped[1_000].now)
    spread = abs(speeds[1_000] - speeds[4]) / speeds[4]
    checks = [
        (matching >= MATCH_FLOOR, f"matching 1,000 keywords as the pipeline calls it: "
         f"{matching:,.0f} posts/s >= {MATCH_FLOOR:,.0f}"),
        (spread <= SCORER_SPREAD, f"scorer at 1,000 brands {speeds[1_000]:,.0f} texts/s, at 4 "
         f"{speeds[4]:,.0f}: {spread:.0%} apart (<= {SCORER_SPREAD:.0%})"),
    ]  # fmt: skip
    print()
    for passed, text in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    print("same results before and now: " + ("yes" if ok else "NO"))
    return 0 if ok and all(p for p, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
