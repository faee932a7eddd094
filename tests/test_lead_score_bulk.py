"""The lead scorers' inputs and top factors are built in bulk (lead_score_model.build_matrix, explain); they must
be what the plain readings give: every touch up to a day summed, and the factors put in words row by row
(ties, absent features and small contributions included)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from leadloop import lead_score_model
from leadloop.lead_score_model import (
    FACTOR_COUNT,
    SCORERS,
    Frames,
    _design,
    _factor,
    _models,
    _score,
    build_matrix,
    explain,
)


def _explain_row_by_row(model, x, raw, dense_names, attribute_names) -> list[str | None]:
    """The reference: each row's contributions sorted (stably) and put in words one by one."""
    scaler, logistic = model.steps[0][1], model.steps[-1][1]
    contributions = (x - scaler.mean_) / scaler.scale_ * logistic.coef_[0]
    present = x != 0
    present[:, 0] = True
    ranked = np.where(present, np.abs(contributions), -1.0)
    order = np.argsort(-ranked, axis=1, kind="stable")[:, :FACTOR_COUNT]
    words = []
    for row in range(len(x)):
        parts = [f"{_factor(column, raw[row], dense_names, attribute_names)} {contributions[row, column]:+.2f}"
                 for column in order[row] if ranked[row, column] >= 0.005]
        words.append("; ".join(parts) or None)
    return words


def test_bulk_words_equal_the_row_by_row_reading():
    rng = np.random.default_rng(7)
    rows, dense_names = 3000, ["days_since_lead", "touches:content_read", "touches:form", "touches:visit"]
    attribute_names = [f"job_title=t{n}" for n in range(12)]
    raw = np.column_stack([rng.integers(0, 400, rows).astype(float),
                           *(np.where(rng.random(rows) < 0.5, 0.0, rng.choice([0.5, 1.25, 2.0, 3.7], rows))
                             for _ in dense_names[1:])])
    attributes = (rng.random((rows, len(attribute_names))) < 0.15).astype(float)
    attributes[:, 5] = attributes[:, 4]  # identical columns: equal contributions, a tie to break by column
    x = np.hstack([np.log1p(raw), attributes])
    labels = rng.random(rows) < 0.1 + 0.3 * attributes[:, 0] + 0.05 * x[:, 1]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)).fit(x, labels)
    model.steps[-1][1].coef_[0, 3] = 1e-4  # a feature too weak to name

    words = explain(model, x, raw, dense_names, attribute_names)

    assert words == _explain_row_by_row(model, x, raw, dense_names, attribute_names)
    assert any(w is not None and w.count(";") == FACTOR_COUNT - 1 for w in words)


def _touch_days(raw: pd.DataFrame, half_life: float) -> pd.DataFrame:
    """int_customer_touches_decayed's rows from raw touches (customer_id, touched_on, touch_type), as its SQL
    makes them: per person, touch day and type, Σ 0.5^(age / half-life) over that day's and earlier touches."""
    rows = []
    for (customer, touch_type), group in raw.groupby(["customer_id", "touch_type"]):
        for touched_on in sorted(set(group["touched_on"])):
            ages = [(touched_on - earlier).days for earlier in group["touched_on"] if earlier <= touched_on]
            rows.append((customer, touched_on, touch_type, sum(0.5 ** (age / half_life) for age in ages)))
    return pd.DataFrame(rows, columns=["customer_id", "touched_on", "touch_type", "decayed_touches"])


@pytest.mark.parametrize("categorical", [False, True], ids=["text", "categorical as read"])
def test_decayed_touches_are_the_sum_over_every_touch_up_to_the_day(categorical):
    """Expanding one row per touch day (lead_score_model._decayed_touches) gives each open day what summing
    every touch of its person up to that day gives, to 6 places: nothing of a later touch, nothing of another
    person (nor of a journey's person with no touches, nor of a day with no person), 0 where there is none."""
    rng = np.random.default_rng(11)
    start, half_life = date(2025, 1, 1), 7.0
    days = pd.DataFrame([(f"j{j}", None if j == 3 else f"c{j % 31}", start + timedelta(days=d), d, True, start,
                          False) for j in range(40) for d in range(30) if rng.random() < 0.8],
                        columns=["journey_id", "customer_id", "score_on", "days_since_lead", "is_outcome_known",
                                 "outcome_window_end_on", "converts_within_window"])
    raw = pd.DataFrame([(f"c{c}", start + timedelta(days=int(d)), t) for c in range(35)
                        for d in rng.integers(-20, 35, size=int(rng.integers(0, 12)))
                        for t in ("form", "visit", "content_read") if rng.random() < 0.4],
                       columns=["customer_id", "touched_on", "touch_type"])
    raw = raw[raw["customer_id"] != "c5"]  # a person with journeys but no touch
    touches = _touch_days(raw, half_life).sample(frac=1, random_state=3)
    attributes = pd.DataFrame({"journey_id": ["j1", "j2", "j99"], "attribute_name": ["job_title"] * 3,
                               "attribute_value": ["cto", "cfo", "ceo"], "known_from_on": [start] * 3})
    if categorical:  # as read_table reads them, with a category no row has
        days = days.astype({"customer_id": "category"})
        days["customer_id"] = days["customer_id"].cat.add_categories(["c_never"])
        touches = touches.astype({"customer_id": "category", "touch_type": "category"})
        touches["touch_type"] = touches["touch_type"].cat.add_categories(["never_touched"])

    matrix = build_matrix(Frames(days.sample(frac=1, random_state=2), touches, attributes, half_life))

    types = sorted(raw[raw["customer_id"].isin(set(days["customer_id"].dropna()))]["touch_type"].unique())
    assert matrix.dense_names[1:] == [f"touches:{t}" for t in types]
    expected = np.zeros((len(matrix.days), len(types)))
    for i, day in enumerate(matrix.days.itertuples()):
        own = raw[(raw["customer_id"] == day.customer_id) & (raw["touched_on"] <= day.score_on)]
        for column, touch_type in enumerate(types):
            ages = [(day.score_on - t).days for t in own[own["touch_type"] == touch_type]["touched_on"]]
            expected[i, column] = round(sum(0.5 ** (age / half_life) for age in ages), 6)
    assert np.abs(matrix.raw[:, 1:] - expected).max() <= 1e-6 + 1e-12
    assert (matrix.raw[:, 1:] > 0).sum() > 500 and (matrix.raw[matrix.days["customer_id"].isna().to_numpy(), 1:] == 0).all()


def test_scoring_in_chunks_gives_what_one_pass_gives(monkeypatch):
    """The walk-forward scores a quarter and puts its top factors in words a chunk of rows at a time
    (lead_score_model._score) to bound its memory: with one BLAS thread, as walk_forward runs it, the words and
    probabilities must be those of one pass, whatever the chunk size."""
    rng = np.random.default_rng(3)
    start = date(2025, 1, 1)
    days = pd.DataFrame([(f"j{j}", start + timedelta(days=d), d, True, start, bool(rng.random() < 0.2))
                         for j in range(60) for d in range(0, 50, 2)],
                        columns=["journey_id", "score_on", "days_since_lead", "is_outcome_known",
                                 "outcome_window_end_on", "converts_within_window"])
    days.insert(1, "customer_id", days["journey_id"].str.replace("j", "c"))
    touches = pd.DataFrame([(f"c{j}", start + timedelta(days=d), t, float(rng.random() * 3))
                            for j in range(60) for d in range(0, 50, 2) for t in ("form", "visit")
                            if rng.random() < 0.4], columns=["customer_id", "touched_on", "touch_type", "decayed_touches"])
    attributes = pd.DataFrame([(f"j{j}", "job_title", f"t{j % 7}", start) for j in range(60)],
                              columns=["journey_id", "attribute_name", "attribute_value", "known_from_on"])
    matrix = build_matrix(Frames(days, touches, attributes, 30.0))
    columns = list(range(len(matrix.attribute_names)))
    x = _design(matrix, np.arange(len(matrix.days)), columns)
    labels = matrix.days["converts_within_window"].to_numpy(dtype=bool)
    fitted = {scorer: model.fit(x, labels) for scorer, model in _models().items()}
    rows = np.flatnonzero(rng.random(len(matrix.days)) < 0.7)

    with threadpool_limits(limits=1):  # as walk_forward scores
        monkeypatch.setattr("leadloop.lead_score_model.SCORING_CHUNK_ROWS", len(rows) + 1)
        whole = _score(fitted, matrix, rows, columns, matrix.attribute_names)
        for size in (1, 7, 16, 64):
            monkeypatch.setattr("leadloop.lead_score_model.SCORING_CHUNK_ROWS", size)
            chunked = _score(fitted, matrix, rows, columns, matrix.attribute_names)
            assert chunked[1] == whole[1]
            if size >= 16:  # BLAS works rows in blocks of up to 16: chunks of a power of two keep each row's sums
                for scorer in SCORERS:
                    assert chunked[0][scorer].tobytes() == whole[0][scorer].tobytes(), (scorer, size)
    assert whole[1] == explain(fitted["logistic"], _design(matrix, rows, columns), matrix.raw[rows],
                               matrix.dense_names, matrix.attribute_names)
    # Rows that share their factors share one text object (a text per row was ~200 bytes at 10×).
    texts = [text for text in whole[1] if text is not None]
    assert len(set(texts)) < len(texts)
    assert len({id(text) for text in texts}) == len(set(texts))


@pytest.mark.parametrize("chunk_rows", [7, 1 << 20])
def test_attributes_known_on_a_day_whatever_the_chunk_of_rows(chunk_rows, monkeypatch):
    """build_matrix marks an attribute=value on every open day of its journey from the day it is known, never
    before, a block of rows at a time (lead_score_model.ATTRIBUTE_CHUNK_ROWS): the same as asking each row."""
    rng = np.random.default_rng(5)
    start = date(2025, 1, 1)
    days = pd.DataFrame([(f"j{j}", f"c{j}", start + timedelta(days=d), d, True, start, False)
                         for j in range(30) for d in range(20) if rng.random() < 0.7],
                        columns=["journey_id", "customer_id", "score_on", "days_since_lead", "is_outcome_known",
                                 "outcome_window_end_on", "converts_within_window"])
    attributes = pd.DataFrame([(f"j{rng.integers(0, 33)}", name, f"v{rng.integers(0, 3)}",
                                start + timedelta(days=int(rng.integers(-3, 25))))
                               for _ in range(120) for name in ("industry", "job_title") if rng.random() < 0.5],
                              columns=["journey_id", "attribute_name", "attribute_value", "known_from_on"])
    touches = pd.DataFrame(columns=["customer_id", "touched_on", "touch_type", "decayed_touches"])
    monkeypatch.setattr(lead_score_model, "ATTRIBUTE_CHUNK_ROWS", chunk_rows)

    matrix = build_matrix(Frames(days.sample(frac=1, random_state=1), touches, attributes, 30.0))

    expected = np.zeros((len(matrix.days), len(matrix.attribute_names)))
    for i, day in enumerate(matrix.days.itertuples()):
        known = attributes[(attributes["journey_id"] == day.journey_id) & (attributes["known_from_on"] <= day.score_on)]
        for name in set(known["attribute_name"] + "=" + known["attribute_value"]):
            expected[i, matrix.attribute_names.index(name)] = 1.0
    assert matrix.attributes.toarray().tolist() == expected.tolist() and expected.sum() > 100


def test_the_scorers_keep_the_attribute_values_seen_in_the_most_journeys():
    """Of the values seen in at least min_journeys journeys, at most max_attributes: those seen in the most
    journeys, ties by name; with room for all, all of them."""
    start = date(2025, 1, 1)
    # a in 6 journeys, b and c in 5 (a tie), d in 4 (under min_journeys); a journey's second day repeats them.
    spread = {"a": 6, "b": 5, "c": 5, "d": 4}
    days = pd.DataFrame([(f"j{j}", f"c{j}", start + timedelta(days=d), d, True, start, False)
                         for j in range(6) for d in range(2)],
                        columns=["journey_id", "customer_id", "score_on", "days_since_lead", "is_outcome_known",
                                 "outcome_window_end_on", "converts_within_window"])
    attributes = pd.DataFrame([(f"j{j}", "industry", value, start) for value, n in spread.items() for j in range(n)],
                              columns=["journey_id", "attribute_name", "attribute_value", "known_from_on"])
    touches = pd.DataFrame(columns=["customer_id", "touched_on", "touch_type", "decayed_touches"])
    matrix = build_matrix(Frames(days, touches, attributes, 30.0))
    training = np.arange(len(matrix.days))

    def kept(limit):
        return lead_score_model._features_for(matrix, training, 5, limit)[1]

    assert kept(None) == kept(3) == ["industry=a", "industry=b", "industry=c"]
    assert kept(2) == ["industry=a", "industry=b"] and kept(1) == ["industry=a"]
