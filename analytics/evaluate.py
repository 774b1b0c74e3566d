"""How far sentiment scoring agrees with people: accuracy, macro-F1 and Pearson r on a labelled set.

The set is a file in the format of VADER's ``tweets_GroundTruth.txt`` (Hutto & Gilbert 2014):
one text per line, ``ID <TAB> MEAN-RATING <TAB> TEXT``, the rating being the mean of human
raters on -4..+4. A text's true label comes from ``norm = rating / 4`` with the thresholds
scoring uses (``norm >= 0.05`` positive, ``norm <= -0.05`` negative, else neutral); the predicted
label is ``analytics.sentiment.score(text).label``. Nothing is tuned on the set.

    python -m analytics.evaluate PATH    # prints one JSON line
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

from analytics.sentiment import Label, label_for, score_many

LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
RATING_SCALE = 4.0


@dataclass(frozen=True, slots=True)
class Rated:
    """One human-rated text: ``rating`` is the raters' mean on -4..+4."""

    id: str
    rating: float
    text: str

    @property
    def label(self) -> Label:
        return label_for(self.rating / RATING_SCALE)


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    """Precision is 0 for a class never predicted, recall 0 for a class absent from the truth."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """``confusion[true][predicted]`` counts texts."""

    texts: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassMetrics]
    confusion: dict[str, dict[str, int]]
    pearson_r: float | None


def read_ground_truth(path: Path) -> list[Rated]:
    """The rated texts of a ground-truth file; a malformed line is a ValueError naming it."""
    rated = []
    with path.open(encoding="utf-8", newline="") as lines:
        for number, line in enumerate(lines, start=1):
            line = line.removesuffix("\n").removesuffix("\r")
            if not line:
                continue
            fields = line.split("\t", 2)
            if len(fields) != 3:
                raise ValueError(
                    f"{path}:{number}: expected ID<TAB>RATING<TAB>TEXT, got {len(fields)} field(s)"
                )
            identifier, rating_text, text = fields
            try:
                rating = float(rating_text)
            except ValueError:
                raise ValueError(
                    f"{path}:{number}: expected a numeric rating, got {rating_text!r}"
                ) from None
            if not -RATING_SCALE <= rating <= RATING_SCALE:
                raise ValueError(f"{path}:{number}: expected a rating in -4..4, got {rating}")
            rated.append(Rated(identifier, rating, text))
    return rated


def classification_metrics(
    pairs: Iterable[tuple[Label, Label]],
) -> tuple[float, float, dict[str, ClassMetrics], dict[str, dict[str, int]]]:
    """Accuracy, macro-F1 (the unweighted mean of the three classes' F1), per-class metrics and
    the confusion matrix of ``(true, predicted)`` label pairs."""
    confusion: dict[str, dict[str, int]] = {true: dict.fromkeys(LABELS, 0) for true in LABELS}
    for true, predicted in pairs:
        confusion[true][predicted] += 1
    total = sum(sum(row.values()) for row in confusion.values())
    if total == 0:
        raise ValueError("expected at least one labelled text, got none")
    per_class: dict[str, ClassMetrics] = {}
    for label in LABELS:
        hits = confusion[label][label]
        predictions = sum(confusion[true][label] for true in LABELS)
        support = sum(confusion[label].values())
        precision = hits / predictions if predictions else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = ClassMetrics(precision, recall, f1, support)
    accuracy = sum(confusion[label][label] for label in LABELS) / total
    macro_f1 = sum(metrics.f1 for metrics in per_class.values()) / len(LABELS)
    return accuracy, macro_f1, per_class, confusion


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, None when either side is constant or there are fewer than two points."""
    if len(xs) < 2 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def evaluate(rated: Sequence[Rated]) -> Evaluation:
    """Score every text and compare with the human ratings."""
    scores = score_many(item.text for item in rated)
    accuracy, macro_f1, per_class, confusion = classification_metrics(
        (item.label, found.label) for item, found in zip(rated, scores, strict=True)
    )
    return Evaluation(
        texts=len(rated),
        accuracy=accuracy,
        macro_f1=macro_f1,
        per_class=per_class,
        confusion=confusion,
        pearson_r=pearson(
            [found.compound for found in scores], [item.rating / RATING_SCALE for item in rated]
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analytics.evaluate",
        description="Agreement of sentiment scoring with human ratings (one JSON line).",
    )
    parser.add_argument("path", type=Path, help="ground truth: ID<TAB>MEAN-RATING(-4..4)<TAB>TEXT")
    args = parser.parse_args(argv)
    try:
        rated = read_ground_truth(args.path)
        result = evaluate(rated)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    line = {
        "file": str(args.path),
        "sha256": hashlib.sha256(args.path.read_bytes()).hexdigest(),
        "vaderSentiment": version("vaderSentiment"),
        **asdict(result),
    }
    print(json.dumps(line, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
