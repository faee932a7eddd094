"""The logistic model's top factors in words (lead_score_model.explain) are put together in bulk; they must be
the words the plain row-by-row reading gives, ties, absent features and small contributions included."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from leadloop.lead_score_model import FACTOR_COUNT, _factor, explain


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
