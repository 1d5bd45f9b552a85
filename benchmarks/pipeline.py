"""Throughput of the mention pipeline against bare VADER, in one process on the same texts.

Measured: 20,000 realistic mentions (generated deterministically from templates for
three fictional brands; about 85% mention a brand, some none, a few only the excluded
namesake, about 5% repeat an earlier external id) fed in batches through
``Pipeline.process`` - match + dedupe + score + decide + store + outbox - on a fresh
SQLite file in a temporary directory. Then, in the same process, bare VADER
(``VaderScorer.polarity``) on the same 20,000 full texts. Each round runs both; the
median time of each over ``--repeat`` rounds counts (not the best: a figure should be
one a worker sees on an ordinary round). The same again with the default scorer
(complaint-aware) in the pipeline, against that scorer alone. Before the rounds, what
the process holds is frozen out of the garbage collector's sight, as ``run`` does once
started.

Printed: pipeline mentions/s, new mentions stored, alerts queued, VADER texts/s and the
ratio pipeline/VADER.

Floors: with VADER, ratio >= 0.5 (the pipeline keeps at least half of VADER's speed:
everything around scoring costs no more than scoring itself); with the default scorer
(issue 15), the pipeline >= 0.7 of that scorer alone and >= 0.5 of bare VADER.

Run: ``.venv/bin/python benchmarks/pipeline.py [--count N] [--batch N] [--seed N]
[--repeat N] [--profile]``; ``--profile`` then times each stage of one more run and
prints its top functions under cProfile. No network.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import monitor.pipeline
from alerts.console import ConsoleConfig
from connectors.base import SourceConfig
from monitor.config import BrandConfig, Config, SentimentConfig
from monitor.models import Mention
from monitor.pipeline import Pipeline
from monitor.sentiment import Scorer, VaderScorer, make_scorer
from monitor.store import Store

FLOOR = 0.5
#: The default scorer in the pipeline, against that scorer alone and against bare VADER.
DEFAULT_FLOOR = 0.7
DEFAULT_VADER_FLOOR = 0.5
SOURCE = "bench"
MAX_LEN = 280
MIN_LEN = 40

BRANDS = [
    BrandConfig(
        name="Acme Coffee",
        keywords=["Acme Coffee", "@acmecoffee", "#acmecoffee"],
        exclude=["Acme Coffee Co. Ltd"],
    ),
    BrandConfig(name="Roastery Lane", keywords=["Roastery Lane", "@roasterylane"]),
    BrandConfig(name="Bolt Bikes", keywords=["Bolt Bikes", "@boltbikes"]),
]

# How people write each brand; every form matches one of the brand's keywords.
REFERENCES: dict[str, list[str]] = {
    "Acme Coffee": [
        "Acme Coffee",
        "Acme Coffee",
        "@acmecoffee",
        "#acmecoffee",
        "acme coffee",
        "ACME COFFEE",
        "Acme-Coffee",
    ],
    "Roastery Lane": ["Roastery Lane", "Roastery Lane", "@roasterylane", "roastery lane"],
    "Bolt Bikes": ["Bolt Bikes", "Bolt Bikes", "@boltbikes", "bolt bikes", "BOLT BIKES"],
}
BRAND_WEIGHTS = {"Acme Coffee": 5, "Roastery Lane": 3, "Bolt Bikes": 3}

PRODUCTS: dict[str, list[str]] = {
    "Acme Coffee": [
        "flat white",
        "oat latte",
        "cold brew",
        "loyalty app",
        "mobile order",
        "espresso",
        "almond croissant",
        "pumpkin spice latte",
    ],
    "Roastery Lane": [
        "subscription box",
        "Ethiopia single origin",
        "delivery",
        "burr grinder",
        "decaf blend",
        "gift card",
        "monthly sampler",
    ],
    "Bolt Bikes": [
        "e-bike",
        "battery",
        "brake pads",
        "gear hub",
        "service appointment",
        "cargo bike",
        "charger",
    ],
}

PLACES = ["Leeds", "Bristol", "Lyon", "Utrecht", "Porto", "Austin", "Denver", "Malmo", "Ghent"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
EMOJI = ["☕", "😡", "🙄", "😍", "🔥", "👍", "🚲", "💔", "😂", "🙏", "✨", "😤"]
TAGS = ["#coffee", "#mondaymood", "#ebike", "#fail", "#love", "#customerservice", "#commute"]

TEMPLATES: dict[str, list[str]] = {
    "complaint": [
        "{brand} charged me twice for my {product} and support hasn't replied in {n} days. "
        "Not impressed.",
        "Worst {product} I've had in ages from {brand}. Cold, bitter and overpriced {emoji}",
        "Honestly done with {brand}. The {product} broke after {n} weeks and nobody will "
        "refund me.",
        "Waited {n} minutes for a {product} at {brand} in {place}. Staff were rude too. Terrible.",
        "{brand} your {product} is a disaster. Fix it or I'm cancelling {tag}",
        "why is the {brand} {product} always late?? {n} times this month {emoji}",
        "Really disappointed with {brand} lately, the {product} used to be good",
        "ugh {brand} again {emoji}",
    ],
    "praise": [
        "Shoutout to {brand} for the amazing {product}! Best part of my morning {emoji}",
        "Love love love the new {product} from {brand}. Great job team {tag}",
        "{brand} staff in {place} were so friendly today, and the {product} was perfect.",
        "Ok the {product} from {brand} is genuinely excellent. Recommended {emoji}",
        "Thank you {brand} for sorting out my {product} so quickly, brilliant service!",
        "{brand} never misses {emoji}",
    ],
    "question": [
        "Does anyone know if {brand} ships the {product} to {place}?",
        "Hey {brand}, is the {product} back in stock yet? Asking for a friend",
        "Is {brand} open on Sunday in {place}? Their site doesn't say.",
        "Has anyone tried the {product} from {brand}? Worth it? {tag}",
    ],
    "news": [
        "{brand} opens a new location in {place} next month, according to a press release.",
        "{brand} announced changes to its {product} pricing starting in {month}.",
        "Report: {brand} plans to expand the {product} line to {n} more cities this year.",
        "{brand} will be at the {place} trade fair this weekend with its {product}.",
    ],
    "two_brands": [
        "Switched from {brand} to {other} for my morning fix and no regrets {emoji}",
        "{brand} vs {other}: which one has the better {product}? Thinking about it.",
    ],
    "none": [
        "Anyone have a good recommendation for a coffee place in {place}? Mine just closed {emoji}",
        "The coffee at the station in {place} is awful today.",
        "Riding to work in the rain again. Need better brakes on this thing {tag}",
        "Grabbed a latte at the Acme Coffeehouse on Main St, pretty good actually.",
        "Following #RoasteryLane for the giveaway, fingers crossed {emoji}",
        "boltbikesclub meetup on Saturday in {place}, bring snacks",
        "New grinder arrived today, the {month} beans taste incredible.",
    ],
    "excluded": [
        "Acme Coffee Co. Ltd reports quarterly results; shares in the commodity trader rose {n}%.",
        "Acme Coffee Co. Ltd is hiring logistics managers in {place}. Apply by {month}.",
    ],
}
# Class weights (out of 100): 85 name a brand, 2 only the excluded namesake, 13 none.
CLASS_WEIGHTS = {
    "complaint": 24,
    "praise": 20,
    "question": 16,
    "news": 22,
    "two_brands": 3,
    "excluded": 2,
    "none": 13,
}
FILLERS = [
    "Anyway.",
    "Will update later.",
    "Thoughts?",
    "Third time this week.",
    "Not sure what else to say.",
    "{emoji}",
    "{emoji}{emoji}",
    "{tag}",
    "I've been a regular customer for years and this is the first time I've posted about it.",
    "My partner says I'm overthinking it, but still.",
    "Posting this here so others know what to expect.",
    "Edit: a few people asked, it was the {place} one.",
    "To be fair the weather didn't help.",
    "No idea if anyone reads these but here we are.",
]


@dataclass
class Generated:
    mentions: list[Mention]
    classes: Counter[str]
    duplicates: int
    expected_new: int


def _fill(template: str, rng: random.Random, brand: str | None, other: str | None) -> str:
    products = PRODUCTS[brand] if brand else [p for ps in PRODUCTS.values() for p in ps]
    return template.format(
        brand=rng.choice(REFERENCES[brand]) if brand else "",
        other=rng.choice(REFERENCES[other]) if other else "",
        product=rng.choice(products),
        place=rng.choice(PLACES),
        month=rng.choice(MONTHS),
        emoji=rng.choice(EMOJI),
        tag=rng.choice(TAGS),
        n=rng.randint(2, 45),
    )


def _text(rng: random.Random, kind: str, brand: str | None, other: str | None) -> str:
    text = _fill(rng.choice(TEMPLATES[kind]), rng, brand, other)
    target = rng.randint(MIN_LEN, MAX_LEN)
    for _ in range(12):
        if len(text) >= target:
            break
        extra = _fill(rng.choice(FILLERS), rng, None, None)
        if len(text) + 1 + len(extra) > MAX_LEN:
            break
        text = f"{text} {extra}"
    while len(text) < MIN_LEN:
        text = f"{text} {rng.choice(EMOJI)}"
    return text[:MAX_LEN]


def generate(count: int, seed: int) -> Generated:
    """``count`` mentions; about 5% repeat an earlier external id (a re-fetch)."""
    rng = random.Random(seed)
    brands = list(BRAND_WEIGHTS)
    weights = list(BRAND_WEIGHTS.values())
    kinds = list(CLASS_WEIGHTS)
    kind_weights = list(CLASS_WEIGHTS.values())
    start = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    mentions: list[Mention] = []
    originals: list[tuple[Mention, str]] = []
    classes: Counter[str] = Counter()
    duplicates = 0
    for i in range(count):
        if originals and rng.random() < 0.05:
            earlier, kind = rng.choice(originals)
            engagement = {k: v + rng.randint(0, 5) for k, v in earlier.engagement.items()}
            mentions.append(
                Mention(
                    source=earlier.source,
                    external_id=earlier.external_id,
                    url=earlier.url,
                    author=earlier.author,
                    text=earlier.text,
                    created_at=earlier.created_at,
                    author_followers=earlier.author_followers,
                    engagement=engagement,
                    raw={**earlier.raw, "public_metrics": engagement},
                )
            )
            duplicates += 1
            continue
        kind = rng.choices(kinds, kind_weights)[0]
        brand: str | None = None
        other: str | None = None
        if kind not in ("none", "excluded"):
            brand = rng.choices(brands, weights)[0]
        if kind == "two_brands":
            other = rng.choice([b for b in brands if b != brand])
        text = _text(rng, kind, brand, other)
        external_id = str(1_880_000_000_000_000_000 + i * 7919)
        author = f"user_{rng.randint(1, 5000):04d}"
        created_at = start + timedelta(seconds=i * 13 + rng.randint(0, 12))
        engagement = {
            "likes": int(rng.expovariate(1 / 8)),
            "reposts": int(rng.expovariate(1 / 2)),
            "replies": int(rng.expovariate(1 / 3)),
        }
        mention = Mention(
            source=SOURCE,
            external_id=external_id,
            url=f"https://social.example/{author}/status/{external_id}",
            author=author,
            text=text,
            created_at=created_at,
            author_followers=int(rng.expovariate(1 / 400)),
            engagement=engagement,
            raw={
                "id": external_id,
                "text": text,
                "author_id": author,
                "created_at": created_at.isoformat(),
                "lang": "en",
                "public_metrics": engagement,
            },
        )
        mentions.append(mention)
        originals.append((mention, kind))
        classes[kind] += 1
    expected_new = sum(1 for _, kind in originals if kind not in ("none", "excluded"))
    return Generated(mentions, classes, duplicates, expected_new)


def make_config(tmp: Path) -> Config:
    return Config(
        path=None,
        database=f"sqlite:///{tmp / 'bench.db'}",
        brands=BRANDS,
        sources={SOURCE: SourceConfig(base_url="http://127.0.0.1:9")},
        channels=[ConsoleConfig.model_validate({"type": "console"})],
    )


@dataclass
class PipelineRun:
    seconds: float
    new: int
    alerts: int
    by_brand: dict[str, tuple[int, int]]


def run_pipeline(
    scorer: Scorer,
    mentions: list[Mention],
    batch: int,
    *,
    instrument: Callable[[Pipeline], None] | None = None,
    profiler: cProfile.Profile | None = None,
) -> PipelineRun:
    """One timed run on a fresh SQLite file; only the ``process`` calls are timed."""
    with tempfile.TemporaryDirectory(prefix="mention-monitor-bench-") as tmp:
        config = make_config(Path(tmp))
        store = Store(config.database)
        try:
            pipeline = Pipeline(config, store, scorer, connectors={})
            if instrument is not None:
                instrument(pipeline)
            brand = config.brands[0]
            new = 0
            if profiler is not None:
                profiler.enable()
            started = time.perf_counter()
            for offset in range(0, len(mentions), batch):
                chunk = mentions[offset : offset + batch]
                cursor = json.dumps({"since_id": chunk[-1].external_id})
                batch_result = pipeline.process(
                    SOURCE, brand.name, chunk, cursor, prefer=brand.name
                )
                new += len(batch_result.new_ids)
            seconds = time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
            alerts = sum(store.alert_counts().values())
            by_brand = store.counts_by_brand()
        finally:
            store.close()
    return PipelineRun(seconds, new, alerts, by_brand)


def run_vader(scorer: VaderScorer, texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        scorer.polarity(text)
    return time.perf_counter() - started


class Stages:
    """Wall time per pipeline stage, by wrapping the product's objects (no code change)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: Counter[str] = Counter()

    def _timed(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.calls[name] += 1

        return wrapper

    def wrap(self, owner: object, attr: str, name: str) -> None:
        setattr(owner, attr, self._timed(name, getattr(owner, attr)))

    def instrument(self, pipeline: Pipeline) -> None:
        self.wrap(pipeline.matcher, "match", "match (Matcher.match)")
        self.wrap(pipeline.store, "known_ids", "dedupe (Store.known_ids)")
        self.wrap(pipeline.scorer, "score", "score (VaderScorer.score)")
        self.wrap(monitor.pipeline, "decide", "decide (rules.decide)")
        self.wrap(pipeline.store, "ingest", "store+outbox (Store.ingest)")

    def report(self, total: float) -> str:
        lines = []
        for name, seconds in sorted(self.seconds.items(), key=lambda item: -item[1]):
            share = 100 * seconds / total
            lines.append(f"  {name:<30} {seconds:6.2f} s {share:5.1f}%  ({self.calls[name]} calls)")
        rest = total - sum(self.seconds.values())
        lines.append(f"  {'rest of Pipeline.process':<30} {rest:6.2f} s {100 * rest / total:5.1f}%")
        return "\n".join(lines)


def profile(scorer: VaderScorer, mentions: list[Mention], batch: int) -> None:
    stages = Stages()
    decide = vars(monitor.pipeline)["decide"]  # instrument() replaces it for one run
    try:
        run = run_pipeline(scorer, mentions, batch, instrument=stages.instrument)
    finally:
        vars(monitor.pipeline)["decide"] = decide
    print(f"\nstages of one more pipeline run ({run.seconds:.2f} s, timers around each call):")
    print(stages.report(run.seconds))
    profiler = cProfile.Profile()
    run = run_pipeline(scorer, mentions, batch, profiler=profiler)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    print(f"\ncProfile of one more pipeline run ({run.seconds:.2f} s under the profiler):")
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="mentions (default 20000)")
    parser.add_argument("--batch", type=int, default=500, help="mentions per batch (default 500)")
    parser.add_argument("--seed", type=int, default=20250301, help="generator seed")
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds of pipeline then VADER; the median counts"
    )
    parser.add_argument(
        "--profile", action="store_true", help="then show stage timings and cProfile (untimed)"
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.repeat < 1:
        parser.error("--count, --batch and --repeat must be positive")

    data = generate(args.count, args.seed)
    texts = [m.full_text for m in data.mentions]
    # As `run` does once started (monitor/cli.py): what exists now (here also the 20,000
    # generated mentions, which a worker never holds at once) is left out of the
    # collector's full scans, which would otherwise weigh on the pipeline rounds alone.
    gc.collect()
    gc.freeze()
    lengths = sorted(len(t) for t in texts)
    print(
        f"generated {len(texts)} mentions (seed {args.seed}): "
        + ", ".join(f"{k} {v}" for k, v in sorted(data.classes.items()))
        + f", repeated ids {data.duplicates}; length min {lengths[0]} "
        f"median {lengths[len(lengths) // 2]} max {lengths[-1]} chars"
    )
    print(f"batch size {args.batch}, {args.repeat} rounds of pipeline then VADER; median of each")

    scorer = VaderScorer(SentimentConfig())
    runs: list[PipelineRun] = []
    vader: list[float] = []
    for round_no in range(1, args.repeat + 1):
        runs.append(run_pipeline(scorer, data.mentions, args.batch))
        vader.append(run_vader(scorer, texts))
        print(
            f"  round {round_no}: pipeline {runs[-1].seconds:.2f} s, VADER {vader[-1]:.2f} s, "
            f"ratio {vader[-1] / runs[-1].seconds:.2f}"
        )

    best = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]  # the median round
    mentions_per_s = len(data.mentions) / best.seconds
    vader_per_s = len(texts) / statistics.median(vader)
    ratio = mentions_per_s / vader_per_s
    same = all((r.new, r.alerts) == (best.new, best.alerts) for r in runs)
    print(f"pipeline:             {mentions_per_s:,.0f} mentions/s ({best.seconds:.2f} s)")
    print(
        f"new mentions stored:  {best.new} (the generator expects {data.expected_new})"
        + ("" if same else " - rounds disagree!")
    )
    print(
        "  by brand:           "
        + ", ".join(f"{b} {n} ({neg} negative)" for b, (n, neg) in sorted(best.by_brand.items()))
    )
    print(f"alerts queued:        {best.alerts}")
    print(f"bare VADER:           {vader_per_s:,.0f} texts/s ({statistics.median(vader):.2f} s)")
    print(f"ratio pipeline/VADER: {ratio:.3f}")
    print(f"floor {FLOOR}: {'PASS' if ratio >= FLOOR else 'FAIL'}")

    # The same with the default scorer (complaint-aware, issue 5), against that scorer bare:
    # what the pipeline around the scorer costs when the scorer itself does more than VADER.
    default = make_scorer(SentimentConfig(), BRANDS)
    # Rounds interleaved (pipeline, scorer alone, bare VADER) so that a busy spell of a
    # shared machine weighs on all three alike.
    d_runs, bare, d_vader = [], [], []
    for _ in range(args.repeat):
        d_runs.append(run_pipeline(default, data.mentions, args.batch).seconds)
        started = time.perf_counter()
        for text in texts:
            default.score(text)
        bare.append(time.perf_counter() - started)
        d_vader.append(run_vader(scorer, texts))
    d_pipeline = len(data.mentions) / statistics.median(d_runs)
    d_bare = len(texts) / statistics.median(bare)
    d_vader_per_s = len(texts) / statistics.median(d_vader)
    d_ratio, d_vader_ratio = d_pipeline / d_bare, d_pipeline / d_vader_per_s
    print(
        f"default complaint scorer: pipeline {d_pipeline:,.0f} mentions/s, the scorer bare "
        f"{d_bare:,.0f} texts/s, bare VADER {d_vader_per_s:,.0f} texts/s (medians)"
    )
    alone_ok, vader_ok = d_ratio >= DEFAULT_FLOOR, d_vader_ratio >= DEFAULT_VADER_FLOOR
    print(
        f"  ratio to the scorer alone {d_ratio:.3f} (floor {DEFAULT_FLOOR}: "
        f"{'PASS' if alone_ok else 'FAIL'}), to bare VADER {d_vader_ratio:.3f} "
        f"(floor {DEFAULT_VADER_FLOOR}: {'PASS' if vader_ok else 'FAIL'})"
    )
    if args.profile:
        profile(scorer, data.mentions, args.batch)
    passed = ratio >= FLOOR and alone_ok and vader_ok
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
