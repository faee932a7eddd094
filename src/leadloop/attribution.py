"""Data-driven attribution over channels (issue 13): Markov removal effects and Shapley values.

Both take journeys — a channel path, whether it converted, how many journeys had it — and answer
with exact fractions, so tests can compare them to published worked examples and to brute force,
and credits can be split to the fen without floating-point drift. (architecture §5)

- Markov (order 1): states start, the channels, conversion and null. Transition probabilities are
  counted from the paths (start → first channel → … → last channel → conversion or null). The
  conversion probability is the chance of being absorbed in conversion from start; removing a channel
  sends every transition into it to null. A channel's removal effect is 1 − P(conversion without it)
  / P(conversion); credit shares are the removal effects normalised to sum to 1. This is the model of
  Anderl, Becker, von Wangenheim and Schumann, "Mapping the customer journey" (2016), and of the R
  package ChannelAttribution.
- Shapley: channels are players and v(S) is the conversions of journeys whose set of channels lies
  within S (the characteristic function of the worked example in "Data-driven marketing attribution",
  towardsdatascience.com/data-driven-marketing-attribution-1a28d2e613a0). Exact over all subsets, so it
  refuses more than MAX_SHAPLEY_CHANNELS channels. With this v a converting journey's conversions are
  shared equally by its distinct channels (each channel set is a unanimity game), and journeys that
  did not convert do not move it: only the Markov model learns from them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations, pairwise
from math import factorial

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
# 2^12 subsets × 12 channels: instant. Beyond that exact enumeration grows fast; group channels first.
MAX_SHAPLEY_CHANNELS = 12


@dataclass(frozen=True)
class Journey:
    """One distinct channel path (channels in time order), whether it converted, and how many had it."""

    channels: tuple[str, ...]
    converted: bool
    count: int = 1


@dataclass(frozen=True)
class MarkovAttribution:
    """The chain's conversion probability, and per channel its removal effect and credit share."""

    conversion_probability: Fraction
    removal_effects: dict[str, Fraction]
    shares: dict[str, Fraction]


class TooManyChannels(ValueError):
    """Exact Shapley values over this many channels would take too long."""


def transition_counts(journeys: Iterable[Journey]) -> dict[str, dict[str, int]]:
    """How often each state was followed by each other state, over every journey (times its count)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for journey in journeys:
        if not journey.channels or journey.count <= 0:
            continue  # a journey with no touch says nothing about channels
        states = (START, *journey.channels, CONVERSION if journey.converted else NULL)
        for here, there in pairwise(states):
            counts[here][there] += journey.count
    return {state: dict(following) for state, following in counts.items()}


def conversion_probability(counts: Mapping[str, Mapping[str, int]], removed: str | None = None) -> Fraction:
    """Probability that the chain counted in `counts` is absorbed in conversion from start, exactly.

    Solves h(s) = Σ P(s → t) h(t) with h(conversion) = 1 and h(null) = 0 over the transient states by
    Gaussian elimination on fractions. With `removed`, every transition into that channel goes to null.
    """
    transient = sorted(s for s in counts if s != removed)
    if START not in transient:
        return Fraction(0)
    index = {state: i for i, state in enumerate(transient)}
    size = len(transient)
    # Rows of (I − Q | r): Q the transitions among transient states, r the step into conversion.
    rows = [[Fraction(0)] * (size + 1) for _ in range(size)]
    for state, i in index.items():
        total = sum(counts[state].values())
        rows[i][i] += 1
        for target, count in counts[state].items():
            probability = Fraction(count, total)
            if target == CONVERSION:
                rows[i][size] += probability
            elif target in index:
                rows[i][index[target]] -= probability
            # null, the removed channel, and a state never left (none: every path ends absorbed) add nothing
    return _solve(rows)[index[START]]


def _solve(rows: list[list[Fraction]]) -> list[Fraction]:
    """Solution of the augmented system (Gauss–Jordan with exact pivots)."""
    size = len(rows)
    for column in range(size):
        pivot = next(r for r in range(column, size) if rows[r][column] != 0)
        rows[column], rows[pivot] = rows[pivot], rows[column]
        lead = rows[column][column]
        rows[column] = [value / lead for value in rows[column]]
        for r in range(size):
            if r != column and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column])]
    return [row[size] for row in rows]


def markov_attribution(journeys: Iterable[Journey]) -> MarkovAttribution:
    """Removal effect and credit share of every channel of an order-1 Markov chain (exact)."""
    counts = transition_counts(journeys)
    channels = sorted(s for s in counts if s != START)
    total = conversion_probability(counts)
    if total == 0:
        effects = {channel: Fraction(0) for channel in channels}
    else:
        effects = {channel: 1 - conversion_probability(counts, removed=channel) / total for channel in channels}
    return MarkovAttribution(total, effects, normalised(effects))


def normalised(values: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """Values scaled to sum to 1; all zero when they sum to zero."""
    total = sum(values.values(), Fraction(0))
    return {key: (value / total if total else Fraction(0)) for key, value in values.items()}


def coalition_conversions(journeys: Iterable[Journey]) -> dict[frozenset[str], int]:
    """Conversions per exact set of channels a converting journey touched."""
    conversions: dict[frozenset[str], int] = defaultdict(int)
    for journey in journeys:
        if journey.converted and journey.channels and journey.count > 0:
            conversions[frozenset(journey.channels)] += journey.count
    return dict(conversions)


def shapley_values(journeys: Iterable[Journey], channels: Iterable[str] | None = None,
                   max_channels: int = MAX_SHAPLEY_CHANNELS) -> dict[str, Fraction]:
    """Exact Shapley value of every channel in conversions, v(S) = conversions of journeys within S.

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S)), over every subset S.
    """
    journeys = list(journeys)
    by_set = coalition_conversions(journeys)
    players = sorted(set(channels or ()) | {c for j in journeys if j.channels for c in j.channels})
    n = len(players)
    if n > max_channels:
        raise TooManyChannels(
            f"exact Shapley values over {n} channels need 2^{n} coalitions; at most {max_channels} are allowed."
            " Group channels (the channel_map_* seeds) or raise max_channels knowingly")
    worth = {frozenset(subset): sum(c for s, c in by_set.items() if s <= frozenset(subset))
             for size in range(n + 1) for subset in combinations(players, size)}
    weights = [Fraction(factorial(size) * factorial(n - size - 1), factorial(n)) for size in range(n)]
    values = {}
    for player in players:
        others = [p for p in players if p != player]
        values[player] = sum(
            (weights[size] * (worth[frozenset(subset) | {player}] - worth[frozenset(subset)])
             for size in range(n) for subset in combinations(others, size)),
            Fraction(0))
    return values


def split_exactly(total: int, shares: Mapping[str, Fraction]) -> dict[str, int]:
    """`total` whole units (fen, millionths) split in proportion to `shares`, summing exactly to `total`.

    Each key gets the floor of its part; what rounding leaves goes to the key with the largest share
    (the first by name of equals), as the rule-based models give it to the touch with most weight.
    """
    if not shares:
        return {}
    weight = sum(shares.values(), Fraction(0))
    if weight == 0:
        raise ValueError("cannot split a total in proportion to shares that are all zero")
    parts = {key: (total * share / weight).__floor__() for key, share in shares.items()}
    largest = min(shares, key=lambda key: (-shares[key], key))
    parts[largest] += total - sum(parts.values())
    return parts
