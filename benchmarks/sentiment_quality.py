"""Negative-mention detection, measured: VADER alone against the complaint scorer.

Measured: for each labelled CSV (columns ``text`` and ``negative``, 1 = a person
labelled it negative or a complaint), precision, recall and F1 of the negative
class for VADER alone (``VaderScorer``: compound <= -0.05) and for the complaint
scorer (``ComplaintScorer``, the default), side by side; then the speed of each
in texts per second on one core (best of ``--repeat`` rounds over all the texts,
in this one process).

Default data: every CSV in ``../shared/data/sentiment`` next to the repository
(see its README for origin and licence: the files are for measuring only).

Floors (issue 5), each printed as PASS or FAIL:
- on every file, the complaint scorer's F1 is above VADER's;
- on airline_dev.csv, F1 >= 0.78 with precision >= 0.80;
- the complaint scorer scores at least 5,000 texts/s.

Run: ``.venv/bin/python benchmarks/sentiment_quality.py [CSV...] [--repeat N]
[--sensitivity low|normal|high]``. Exits 1 if a floor fails. No network.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.config import SentimentConfig
from monitor.sentiment import ComplaintScorer, Scorer, VaderScorer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sentiment"
AIRLINE = "airline_dev.csv"
AIRLINE_F1 = 0.78
AIRLINE_PRECISION = 0.80
SPEED_FLOOR = 5_000.0


@dataclass(frozen=True)
class Quality:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __str__(self) -> str:
        return f"{self.precision:.3f}  {self.recall:.3f}  {self.f1:.3f}"


def read(path: Path) -> tuple[list[str], list[bool]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"text", "negative"} <= set(rows[0]):
        raise SystemExit(f"{path}: needs the columns `text` and `negative`")
    return [r["text"] for r in rows], [r["negative"].strip() == "1" for r in rows]


def measure(scorer: Scorer, texts: Sequence[str], gold: Sequence[bool]) -> Quality:
    tp = fp = fn = 0
    for text, negative in zip(texts, gold, strict=True):
        flagged = scorer.score(text).negative
        tp += flagged and negative
        fp += flagged and not negative
        fn += negative and not flagged
    return Quality(tp, fp, fn)


def speed(scorer: Scorer, texts: Sequence[str], repeat: int) -> float:
    """Texts per second, best of ``repeat`` rounds (a shared machine's noise is one-sided)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            scorer.score(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("csv", nargs="*", type=Path, help=f"labelled CSVs (default: {DATA}/*.csv)")
    parser.add_argument("--repeat", type=int, default=3, help="speed rounds; best counts")
    parser.add_argument(
        "--sensitivity",
        choices=["low", "normal", "high"],
        default="normal",
        help="the complaint scorer's sensitivity (default normal)",
    )
    args = parser.parse_args(argv)
    files: list[Path] = args.csv or sorted(DATA.glob("*.csv"))
    if not files:
        parser.error(f"no CSV given and none in {DATA}")
    if args.repeat < 1:
        parser.error("--repeat must be positive")

    vader = VaderScorer(SentimentConfig())
    complaint = ComplaintScorer(SentimentConfig(sensitivity=args.sensitivity))
    print(f"negative class; complaint scorer sensitivity {args.sensitivity}")
    print(
        f"{'file':<24} {'rows':>6} {'neg':>6} | {'VADER P':>7}  {'R':>5}  {'F1':>5} "
        f"| {'complaint P':>11}  {'R':>5}  {'F1':>5} | {'F1 gain':>7}"
    )
    verdicts: list[tuple[str, bool]] = []
    everything: list[str] = []
    for path in files:
        texts, gold = read(path)
        everything += texts
        base = measure(vader, texts, gold)
        new = measure(complaint, texts, gold)
        print(
            f"{path.name:<24} {len(texts):>6} {sum(gold):>6} | {base.precision:>7.3f}  "
            f"{base.recall:.3f}  {base.f1:.3f} | {new.precision:>11.3f}  {new.recall:.3f}  "
            f"{new.f1:.3f} | {new.f1 - base.f1:>+7.3f}"
        )
        verdicts.append(
            (f"{path.name}: F1 {new.f1:.3f} above VADER's {base.f1:.3f}", new.f1 > base.f1)
        )
        if path.name == AIRLINE:
            verdicts.append(
                (
                    f"{path.name}: F1 {new.f1:.3f} >= {AIRLINE_F1} with precision "
                    f"{new.precision:.3f} >= {AIRLINE_PRECISION}",
                    new.f1 >= AIRLINE_F1 and new.precision >= AIRLINE_PRECISION,
                )
            )

    vader_speed = speed(vader, everything, args.repeat)
    complaint_speed = speed(complaint, everything, args.repeat)
    print(
        f"\nspeed on all {len(everything)} texts, one core, best of {args.repeat}: "
        f"VADER {vader_speed:,.0f} texts/s, complaint scorer {complaint_speed:,.0f} texts/s "
        f"({complaint_speed / vader_speed:.2f} of VADER)"
    )
    verdicts.append(
        (
            f"speed: {complaint_speed:,.0f} texts/s >= {SPEED_FLOOR:,.0f}",
            complaint_speed >= SPEED_FLOOR,
        )
    )
    print()
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
