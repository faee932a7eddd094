"""Issue 13 acceptance 2: the data-driven models (leadloop.attribution) reproduce published worked
examples to 4 decimals and agree with brute force: Shapley values averaged over every ordering of the
channels, and Markov conversion probabilities summed over every path of the chain."""

from __future__ import annotations

import random
from collections import defaultdict
from fractions import Fraction
from itertools import permutations

import pytest

from leadloop.attribution import (
    CONVERSION,
    NULL,
    START,
    Journey,
    TooManyChannels,
    coalition_conversions,
    conversion_probability,
    markov_attribution,
    shapley_values,
    split_exactly,
    transition_counts,
)


def _rounded(values: dict[str, Fraction]) -> dict[str, float]:
    return {key: round(float(value), 4) for key, value in values.items()}


# --- Markov: published worked examples ------------------------------------------------------------

def test_markov_reproduces_bryls_three_path_example():
    """Sergey Bryl', "Marketing Multi-Channel Attribution model with R (part 1: Markov chains concept)",
    AnalyzeCore, 2016-08-03, http://analyzecore.com/2016/08/03/attribution-model-r-part-1/ — the example
    of section "Markov chains concept": three journeys C1 → C2 → C3 → conversion, C1 → null,
    C2 → C3 → null. Its figures: P(conversion) = 0.33, removing C1 leaves 0.167 (removal effect 0.5) and
    C1's weight is 0.2 of the removal effects. (These figures are also the expectations of
    github.com/uzmargomez/content_attribution python_code/tests/test_attribution.py, which reproduces the
    same example.) Removing C2 or C3 cuts every path to conversion: removal effect 1 each, weight 0.4."""
    journeys = [Journey(("C1", "C2", "C3"), True), Journey(("C1",), False), Journey(("C2", "C3"), False)]
    result = markov_attribution(journeys)
    assert result.conversion_probability == Fraction(1, 3)
    assert conversion_probability(transition_counts(journeys), removed="C1") == Fraction(1, 6)
    assert _rounded(result.removal_effects) == {"C1": 0.5, "C2": 1.0, "C3": 1.0}
    assert _rounded(result.shares) == {"C1": 0.2, "C2": 0.4, "C3": 0.4}


def test_markov_reproduces_puzyrovs_removal_effect_example():
    """Serhii Puzyrov, "Markov Chain Attribution – Simple Explanation Of Removal Effect", 2019,
    https://serhiipuzyrov.com/2019/07/markov-chain-attribution-simple-explanation-of-removal-effect/ —
    paths google ads ×2 converted, mailing ×1 converted, google ads > mailing ×1 converted, google ads ×1
    not converted. Its transition table (read in full): google ads → conv 2/4, → mailing 1/4,
    → null 1/4; mailing → conv 2/2; start → google ads 4/5, start → mailing 1/5. The article's own
    results were not readable in the stored copy; from that table, by hand:
      P(conv)              = 0.8 · (0.5 + 0.25 · 1) + 0.2 · 1 = 0.8
      without google ads   = 0.2 · 1 = 0.2            → removal effect 1 − 0.2/0.8 = 0.75
      without mailing      = 0.8 · 0.5 = 0.4          → removal effect 1 − 0.4/0.8 = 0.5
      shares               = 0.75 / 1.25 = 0.6 and 0.5 / 1.25 = 0.4 → 2.4 and 1.6 of the 4 conversions."""
    journeys = [Journey(("google ads",), True, 2), Journey(("mailing",), True),
                Journey(("google ads", "mailing"), True), Journey(("google ads",), False)]
    counts = transition_counts(journeys)
    probabilities = {(a, b): round(n / sum(counts[a].values()), 4) for a in counts for b, n in counts[a].items()}
    assert probabilities == {("google ads", CONVERSION): 0.5, ("google ads", "mailing"): 0.25,
                             ("google ads", NULL): 0.25, ("mailing", CONVERSION): 1.0,
                             (START, "google ads"): 0.8, (START, "mailing"): 0.2}
    result = markov_attribution(journeys)
    assert result.conversion_probability == Fraction(4, 5)
    assert _rounded(result.removal_effects) == {"google ads": 0.75, "mailing": 0.5}
    assert _rounded(result.shares) == {"google ads": 0.6, "mailing": 0.4}
    assert {c: float(share * 4) for c, share in result.shares.items()} == {"google ads": 2.4, "mailing": 1.6}


# --- Markov: brute force by counting paths --------------------------------------------------------

def _paths_probability(counts, removed: str | None, max_steps: int, exact: bool = True) -> Fraction | float:
    """Σ over every walk start → … → conversion of at most max_steps steps of the product of its
    transition probabilities (a walk entering the removed channel ends there, unconverted). Walks that
    stand on the same state after the same number of steps are summed together as they go, which is the
    same sum and keeps a chain with returns from multiplying walks without end."""
    number = Fraction if exact else float
    total = number(0)
    standing = {START: number(1)}
    for _ in range(max_steps):
        following = defaultdict(number)
        for state, probability in standing.items():
            out = sum(counts[state].values())
            for target, count in counts[state].items():
                step = probability * (Fraction(count, out) if exact else count / out)
                if target == CONVERSION:
                    total += step
                elif target not in (NULL, removed):
                    following[target] += step
        standing = following
    return total


def test_markov_equals_path_counting_on_an_acyclic_chain():
    """Four channels, no channel returns: every walk ends within five steps, so summing the walks is
    exact, for the whole chain and with each channel removed."""
    journeys = [Journey(("search", "webinar", "sales"), True, 3), Journey(("search", "sales"), False, 4),
                Journey(("social", "webinar"), True, 2), Journey(("social",), False, 5),
                Journey(("webinar", "sales"), True, 1), Journey(("search",), True, 2)]
    counts = transition_counts(journeys)
    for removed in (None, "search", "social", "webinar", "sales"):
        assert conversion_probability(counts, removed) == _paths_probability(counts, removed, 6), removed


def test_markov_equals_path_counting_on_a_chain_with_returns():
    """Channels that come back (search → social → search …) make infinitely many walks; summing those
    of up to 200 steps (in floating point: exact fractions of 200 steps grow huge) leaves a geometric
    tail far below 1e-12."""
    journeys = [Journey(("search", "social", "search"), True, 3), Journey(("social", "search", "social"), False, 2),
                Journey(("search", "search", "event"), True, 1), Journey(("event", "social"), False, 4)]
    counts = transition_counts(journeys)
    for removed in (None, "search", "social", "event"):
        exact = conversion_probability(counts, removed)
        assert abs(float(exact) - _paths_probability(counts, removed, 200, exact=False)) < 1e-12, removed


# --- Shapley: published worked example --------------------------------------------------------------

TDS_EXAMPLE = [Journey(("F",), True, 20), Journey(("O",), True, 10), Journey(("L",), True, 17),
               Journey(("F", "O"), True, 17), Journey(("F", "L"), True, 30), Journey(("F", "O", "L"), True, 6)]


def test_shapley_reproduces_the_towards_data_science_example():
    """"Data-driven marketing attribution", Towards Data Science,
    https://towardsdatascience.com/data-driven-marketing-attribution-1a28d2e613a0 — channels Facebook (F),
    Organic (O), LinkedIn (L); the conversion ratios of the channel sets F 0.20, O 0.10, L 0.17, F+O 0.17,
    F+L 0.30, L+O 0, F+L+O 0.06 (here: 100 converting journeys in those proportions); the worth of a
    coalition is the sum over the sets within it: F 0.2, O 0.1, L 0.17, F+O 0.47, F+L 0.67, L+O 0.27,
    F+L+O 1.0; Shapley values F 0.455, O 0.205, L 0.34. Read in full in the article's companion notebook,
    github.com/tomgorb/misc "Data Driven Attribution.ipynb" (cells 1, 6 and 8)."""
    by_set = coalition_conversions(TDS_EXAMPLE)
    worth = {"+".join(sorted(s)): sum(n for t, n in by_set.items() if t <= set(s)) / 100
             for s in ("F", "O", "L", "FO", "FL", "LO", "FLO")}
    assert worth == {"F": 0.2, "O": 0.1, "L": 0.17, "F+O": 0.47, "F+L": 0.67, "L+O": 0.27, "F+L+O": 1.0}
    values = shapley_values(TDS_EXAMPLE)
    assert _rounded({c: v / 100 for c, v in values.items()}) == {"F": 0.455, "O": 0.205, "L": 0.34}
    assert sum(values.values()) == 100  # efficiency: every conversion credited once


# --- Shapley: brute force over orderings ------------------------------------------------------------

def _shapley_by_orderings(journeys: list[Journey]) -> dict[str, Fraction]:
    """Average over every ordering of the channels of what each adds when it joins those before it."""
    players = sorted({c for j in journeys for c in j.channels})
    by_set = coalition_conversions(journeys)

    def worth(members: set[str]) -> int:
        return sum(n for s, n in by_set.items() if s <= members)

    totals: dict[str, int] = defaultdict(int)
    orderings = 0
    for ordering in permutations(players):
        orderings += 1
        joined: set[str] = set()
        for player in ordering:
            before = worth(joined)
            joined.add(player)
            totals[player] += worth(joined) - before
    return {player: Fraction(totals[player], orderings) for player in players}


def _random_journeys(seed: int, channels: int) -> list[Journey]:
    rng = random.Random(seed)
    names = [f"c{i}" for i in range(channels)]
    return [Journey(tuple(rng.choice(names) for _ in range(rng.randint(1, 5))), rng.random() < 0.4, rng.randint(1, 9))
            for _ in range(60)]


@pytest.mark.parametrize("journeys", [TDS_EXAMPLE, _random_journeys(7, 5), _random_journeys(13, 6)],
                         ids=["towards-data-science", "random-5", "random-6"])
def test_shapley_subsets_equal_the_average_over_orderings(journeys):
    assert shapley_values(journeys) == _shapley_by_orderings(journeys)


def test_shapley_shares_each_conversion_equally_among_its_channels():
    """With v(S) = conversions of journeys within S, the game is a sum of one unanimity game per channel
    set, so a converting journey's conversions go in equal parts to its distinct channels."""
    journeys = _random_journeys(21, 8)
    equal_parts: dict[str, Fraction] = defaultdict(Fraction)
    for journey in journeys:
        if journey.converted:
            for channel in set(journey.channels):
                equal_parts[channel] += Fraction(journey.count, len(set(journey.channels)))
    values = shapley_values(journeys)
    assert {c: v for c, v in values.items() if v} == dict(equal_parts)


def test_shapley_refuses_too_many_channels():
    journeys = [Journey((f"c{i}",), True) for i in range(13)]
    with pytest.raises(TooManyChannels, match="13 channels"):
        shapley_values(journeys)
    assert len(shapley_values(journeys, max_channels=13)) == 13


# --- edge cases and the exact split -----------------------------------------------------------------

def test_nothing_converted_gives_no_credit():
    result = markov_attribution([Journey(("a", "b"), False, 3)])
    assert result.conversion_probability == 0 and result.shares == {"a": 0, "b": 0}
    assert shapley_values([Journey(("a", "b"), False, 3)]) == {"a": 0, "b": 0}


def test_split_exactly_sums_to_the_total_and_gives_the_remainder_to_the_largest_share():
    shares = {"b": Fraction(1, 3), "a": Fraction(1, 3), "c": Fraction(1, 3)}
    assert split_exactly(100, shares) == {"a": 34, "b": 33, "c": 33}  # a: first by name of the equals
    assert split_exactly(1_000_001, {"x": Fraction(2, 7), "y": Fraction(5, 7)}) == {"x": 285714, "y": 714287}
    rng = random.Random(3)
    for _ in range(200):
        raw = {f"k{i}": Fraction(rng.randint(0, 50), rng.randint(1, 50)) for i in range(rng.randint(1, 9))}
        if not any(raw.values()):
            continue
        total = rng.randint(0, 10**12)
        parts = split_exactly(total, raw)
        assert sum(parts.values()) == total and all(p >= 0 for p in parts.values())
