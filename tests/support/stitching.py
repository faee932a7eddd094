"""Pairwise precision and recall of identity stitching against the demo company's truth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class PairScore:
    """Pairs of records put together by the truth, by the stitcher, and by both."""

    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    records: int

    @property
    def precision(self) -> float:
        """Share of stitched pairs that are really one person (1.0 when nothing was stitched)."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs the stitcher found (1.0 when there are none)."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def __str__(self) -> str:
        return (f"precision {self.precision:.4f} ({self.correct_pairs}/{self.predicted_pairs} pairs), "
                f"recall {self.recall:.4f} ({self.correct_pairs}/{self.true_pairs} pairs) over {self.records} records")


def _pairs(assignment: Mapping[str, Hashable]) -> set[tuple[str, str]]:
    groups: dict[Hashable, list[str]] = defaultdict(list)
    for record, group in assignment.items():
        groups[group].append(record)
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def pair_score(truth: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> PairScore:
    """Score the stitcher's grouping of the truth's records; a record it never saw counts as alone."""
    stitched = {record: predicted.get(record, ("unseen", record)) for record in truth}
    true_pairs, predicted_pairs = _pairs(truth), _pairs(stitched)
    return PairScore(len(true_pairs), len(predicted_pairs), len(true_pairs & predicted_pairs), len(truth))


def mixed_groups(truth: Mapping[str, Hashable], predicted: Mapping[str, Hashable]) -> dict[Hashable, set]:
    """Stitched groups that hold records of more than one true person, with those persons."""
    found: dict[Hashable, set] = defaultdict(set)
    for record, group in predicted.items():
        if record in truth:
            found[group].add(truth[record])
    return {group: owners for group, owners in found.items() if len(owners) > 1}
