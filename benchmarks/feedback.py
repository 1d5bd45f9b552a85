"""What the owner's verdicts teach the scorer, measured on labelled airline tweets.

Simulated: an owner of one brand ("airline", the keywords are the airlines' names)
whose mentions arrive in the CSV's order through the real pipeline
(``Pipeline.process`` on a real SQLite file, in polls of 10), and who gives verdicts
with the true labels through the real ``give_verdict``; the pipeline's scorer learns
them as the service does (the verdict marker, read at each poll). The first
``--stream`` mentions (2,000) are the ones the owner works through; the rest (about
5,300) are the mentions to come, scored after 0, 50, 200 and 500 verdicts (and 1,000),
the same texts at every step.

Two owners:
- ``every``: gives a verdict on each mention in arrival order, alerted or not;
- ``alerts``: gives verdicts only on the alerts (mentions the scorer, as it was when
  they arrived, judged negative): false alarms are all it can teach.

Printed: precision, recall and F1 of the negative class on the mentions to come, per
step and owner; how long learning again takes for 500 and for all ~7,300 texts as
verdicts; the scoring speed with and without what was learned.

Floors (issue 11), each printed as PASS or FAIL:
- every: after 500 verdicts, F1 >= 0.83, and no step up to 500 below the F1 with no
  verdicts;
- alerts: no step up to 500 below the F1 with no verdicts, and precision after 500
  above the precision with none. (1,000 is printed, not judged.)

Data: ../shared/data/sentiment/airline_dev.csv next to the repository (its README
gives origin and licence: for measuring only, never copied into the product).

Run: ``.venv/bin/python benchmarks/feedback.py [CSV] [--stream N]``. Exits 1 if a
floor fails. No network.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.console import ConsoleConfig
from connectors.base import SourceConfig
from monitor.config import BrandConfig, Config
from monitor.feedback import give_verdict
from monitor.models import Mention
from monitor.pipeline import ALL_BRANDS, Pipeline
from monitor.sentiment import make_scorer
from monitor.sentiment.learned import LearningScorer
from monitor.store import Store
from monitor.store.verdicts import VerdictText

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sentiment_quality import DATA, Quality, read

BRAND = "airline"
SOURCE = "bench"
KEYWORDS = ["united", "usairways", "americanair", "southwestair", "jetblue", "virginamerica"]
STEPS = (0, 50, 200, 500, 1000)
FLOOR_F1 = 0.83
FLOOR_AT = 500
POLL = 10
START = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Step:
    verdicts: int
    quality: Quality


def make_config(tmp: Path) -> Config:
    return Config(
        path=None,
        database=f"sqlite:///{tmp / 'feedback.db'}",
        brands=[BrandConfig(name=BRAND, keywords=KEYWORDS)],
        sources={SOURCE: SourceConfig(base_url="http://127.0.0.1:9")},
        channels=[ConsoleConfig.model_validate({"type": "console"})],
    )


def measure(scorer: LearningScorer, texts: list[str], gold: list[bool]) -> Quality:
    tp = fp = fn = 0
    for text, negative in zip(texts, gold, strict=True):
        flagged = scorer.score(text, BRAND).negative
        tp += flagged and negative
        fp += flagged and not negative
        fn += negative and not flagged
    return Quality(tp, fp, fn)


def simulate(
    owner: str, stream: list[tuple[str, bool]], rest: tuple[list[str], list[bool]]
) -> list[Step]:
    """One owner on a fresh database; the quality on ``rest`` at each step."""
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="mention-monitor-feedback-") as tmp:
        config = make_config(Path(tmp))
        store = Store(config.database)
        try:
            pipeline = Pipeline(
                config, store, make_scorer(config.sentiment, config.brands), {}, strict=True
            )
            scorer = pipeline.scorer
            given = 0
            targets = list(STEPS)

            def checkpoint() -> None:
                while targets and given >= targets[0]:
                    pipeline._learn()  # what the next poll does first
                    steps.append(Step(targets.pop(0), measure(scorer, *rest)))

            checkpoint()
            for offset in range(0, len(stream), POLL):
                if not targets:
                    break
                now = START + timedelta(minutes=offset)
                batch = [
                    Mention(
                        SOURCE,
                        str(offset + i),
                        f"https://x.test/{offset + i}",
                        "someone",
                        text,
                        now,
                    )
                    for i, (text, _) in enumerate(stream[offset : offset + POLL])
                ]
                labels = {
                    str(offset + i): gold
                    for i, (_, gold) in enumerate(stream[offset : offset + POLL])
                }
                new_ids = pipeline.process(SOURCE, ALL_BRANDS, batch, None).new_ids
                for mention_id in new_ids:
                    row = store.mention(mention_id)
                    assert row is not None
                    if owner == "alerts" and not row.negative:
                        continue
                    verdict = "negative" if labels[row.external_id] else "not_negative"
                    give_verdict(config, store, mention_id, verdict, now)
                    given += 1
                    checkpoint()
                    if not targets:
                        break
        finally:
            store.close()
    return steps


def timings(texts: list[str], gold: list[bool], config: Config) -> None:
    base = make_scorer(config.sentiment, config.brands)
    scorer = LearningScorer(base, config)
    compounds = [base.score(t, BRAND).compound for t in texts]
    verdicts = [
        VerdictText(i, BRAND, t, c, g)
        for i, (t, c, g) in enumerate(zip(texts, compounds, gold, strict=True))
    ]
    for n in (500, len(verdicts)):
        started = time.perf_counter()
        scorer.learn(verdicts[:n])
        first = time.perf_counter() - started
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            scorer.learn(verdicts[:n])
            best = min(best, time.perf_counter() - started)
        print(
            f"learning from {n:,} verdicts: {first * 1000:.0f} ms the first time in a process, "
            f"then {best * 1000:.0f} ms each time they change"
        )
    scorer.learn(verdicts[:500])
    sample = texts[500:3500]
    for what, s in (("the scorer alone", base), ("with 500 verdicts learned", scorer)):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for t in sample:
                s.score(t, BRAND)
            best = min(best, time.perf_counter() - started)
        print(f"scoring, {what}: {len(sample) / best:,.0f} texts/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DATA / "airline_dev.csv")
    parser.add_argument("--stream", type=int, default=2000, help="mentions the owner judges")
    args = parser.parse_args(argv)
    if not args.csv.exists():
        parser.error(f"{args.csv} not found (see ../shared/data/README.md)")
    logging.disable(logging.WARNING)  # the console channel is not asked; keep output a table
    texts, gold = read(args.csv)
    stream = list(zip(texts[: args.stream], gold[: args.stream], strict=True))
    rest = (texts[args.stream :], gold[args.stream :])
    print(
        f"{args.csv.name}: the owner judges the first {len(stream):,} mentions in arrival "
        f"order; measured on the next {len(rest[0]):,} (negative class)"
    )
    verdicts: list[tuple[str, bool]] = []
    for owner in ("every", "alerts"):
        steps = simulate(owner, stream, rest)
        print(f"\nowner marks {'every mention' if owner == 'every' else 'only the alerts'}:")
        print(f"{'verdicts':>8}  {'P':>5}  {'R':>5}  {'F1':>5}")
        for step in steps:
            q = step.quality
            print(f"{step.verdicts:>8}  {q.precision:.3f}  {q.recall:.3f}  {q.f1:.3f}")
        first = steps[0].quality
        low = min(s.quality.f1 for s in steps if s.verdicts <= FLOOR_AT)
        verdicts.append(
            (
                f"{owner}: no step to {FLOOR_AT} below F1 {first.f1:.3f} with no verdicts "
                f"(lowest {low:.3f})",
                low >= first.f1,
            )
        )
        at = next(s.quality for s in steps if s.verdicts == FLOOR_AT)
        if owner == "every":
            verdicts.append(
                (f"every: F1 {at.f1:.3f} >= {FLOOR_F1} after {FLOOR_AT}", at.f1 >= FLOOR_F1)
            )
        else:
            verdicts.append(
                (
                    f"alerts: precision {at.precision:.3f} after {FLOOR_AT} above "
                    f"{first.precision:.3f} with none",
                    at.precision > first.precision,
                )
            )
    print()
    with tempfile.TemporaryDirectory() as tmp:
        timings(texts, gold, make_config(Path(tmp)))
    print()
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
