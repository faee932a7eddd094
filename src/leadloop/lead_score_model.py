"""The fitted lead scorers (issue 12): logistic regression and gradient boosting, trained walk-forward.

Each journey × scoring day still open (not yet SQL) is a row: its features are the journey attributes known
that day (one column per attribute=value, whatever attributes int_journey_attributes_dated lists), the
decayed touches of each type up to the day and the days since the lead; its label is whether it reached SQL
or an opportunity within the outcome window (int_journey_days_labelled). Rows of quarter Q are scored by
models trained only on rows whose outcome window had closed before Q's first day, so no score ever rests on
anything that happened on or after the first day of the quarter it scores (walk-forward). Pure functions on DataFrames: the
Dagster asset (orchestration/lead_score_model.py) reads the warehouse and writes what these return.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

SCORERS = ("logistic", "gradient_boosting")
RANDOM_STATE = 20260101  # every model and the random baseline are deterministic
# A quarter is scored once the rows before it hold this many positives: fewer give a model that is noise.
MIN_TRAINING_POSITIVES = 20
# Training takes one day a fortnight of each journey (days 0, 14, 28, … after its lead): neighbouring days of a
# journey are nearly the same row, and one in fourteen trains as well in a fraction of the time.
TRAINING_EVERY_DAYS = 14
# Models are refitted for each quarter (trained on what was known by its first day, scoring its days): a
# month would do as well but cost three times the fitting; a night must stay a matter of seconds.
REFIT_EVERY_MONTHS = 3
FACTOR_COUNT = 3
# Rows scored and explained at once: their design and the arrays explaining them stay tens of MiB at 10x.
SCORING_CHUNK_ROWS = 1 << 15  # a power of two (see _score)
ATTRIBUTE_CHUNK_ROWS = 1 << 20


@dataclass
class Frames:
    """What the scorers read: open journey days with their labels, decayed touches and dated attributes."""

    days: pd.DataFrame  # journey_id, customer_id, score_on, days_since_lead, is_outcome_known, outcome_window_end_on, label
    touches: pd.DataFrame  # customer_id, touched_on, touch_type, decayed_touches (on touched_on)
    attributes: pd.DataFrame  # journey_id, attribute_name, attribute_value, known_from_on
    touch_half_life_days: float  # var lead_score_model_half_life_days


@dataclass
class Matrix:
    """Every open journey day (rows in days' order) and every candidate feature."""

    days: pd.DataFrame
    dense_names: list[str]
    raw: np.ndarray  # days_since_lead and decayed touches per type; the features are their log1p (_design)
    attributes: sparse.csr_matrix  # 1 where the attribute=value was known on the day
    attribute_names: list[str]


@dataclass
class Fold:
    """One walk-forward step: models trained before `cutoff_on`, scoring the rows of its quarter."""

    cutoff_on: date
    training_rows: int
    training_positives: int
    features: list[str]
    models: dict[str, object]
    versions: dict[str, str]


@dataclass
class Scored:
    """The scores of every open journey day of a scored quarter, the folds that made them and the metrics."""

    scores: pd.DataFrame
    folds: list[Fold] = field(default_factory=list)
    metrics: dict[str, dict] = field(default_factory=dict)
    day_rows: np.ndarray = field(default_factory=lambda: np.arange(0))  # each score row's row of Matrix.days


def period_start(day: date) -> date:
    """The first day of the refit period (REFIT_EVERY_MONTHS months, from January) a day falls in."""
    return date(day.year, (day.month - 1) // REFIT_EVERY_MONTHS * REFIT_EVERY_MONTHS + 1, 1)


def build_matrix(frames: Frames) -> Matrix:
    """The feature matrix of every open journey day: behaviour as of the day, attributes known by the day."""
    days = frames.days.sort_values(["journey_id", "score_on"], kind="mergesort").reset_index(drop=True)
    # Journeys and days as whole numbers: joins on them are many times faster than on text and date objects.
    journey, journeys = pd.factorize(days["journey_id"])
    day = _day_numbers(days["score_on"])
    days["score_on"] = pd.to_datetime(days["score_on"]).dt.date
    days["outcome_window_end_on"] = pd.to_datetime(days["outcome_window_end_on"]).dt.date

    raw_touches, touch_types = _decayed_touches(frames.touches, days["customer_id"], day,
                                                frames.touch_half_life_days)
    raw = np.column_stack([days["days_since_lead"].to_numpy(dtype=float), raw_touches])
    dense_names = ["days_since_lead", *(f"touches:{t}" for t in touch_types)]

    attributes = frames.attributes
    feature = attributes["attribute_name"] + "=" + attributes["attribute_value"]
    attribute_names = sorted(feature.unique())
    column_of = {name: i for i, name in enumerate(attribute_names)}
    values = _known_attributes(
        journey, day, pd.Index(journeys).get_indexer(attributes["journey_id"]),
        _day_numbers(attributes["known_from_on"], missing=np.iinfo(np.int64).max), feature.map(column_of).to_numpy(),
        len(attribute_names))
    return Matrix(days, dense_names, raw, values, attribute_names)


def _known_attributes(journey: np.ndarray, day: np.ndarray, attribute_journey: np.ndarray, known_from: np.ndarray,
                      column: np.ndarray, width: int) -> sparse.csr_matrix:
    """1 in (row, column) for every open journey day and attribute known on it (known_from <= day; nothing known
    later). The days are sorted by journey, then day, so the days an attribute row is known on are one run of
    rows: found by binary search, not by joining every journey day to every attribute of its journey (at 10×
    the demo that frame of 7 M rows was the scorers' peak memory). Built ATTRIBUTE_CHUNK_ROWS rows at a time:
    every cell's row and column at once were several times the matrix (~100 M cells at 100× the demo)."""
    # Days are after 1970 and before 2^31 days from it: journey << 32 + day orders rows as the sort does.
    keys = (journey.astype(np.int64) << 32) + day
    found = attribute_journey >= 0
    owner, column = attribute_journey[found].astype(np.int64), column[found].astype(np.int32)
    first = np.searchsorted(keys, (owner << 32) + np.clip(known_from[found], 0, (1 << 31) - 1), side="left")
    end = np.searchsorted(keys, (owner + 1) << 32, side="left")
    del keys
    blocks = []
    for begin in range(0, len(day), ATTRIBUTE_CHUNK_ROWS):
        stop = min(begin + ATTRIBUTE_CHUNK_ROWS, len(day))
        low = np.maximum(first, begin)
        count = np.maximum(np.minimum(end, stop) - low, 0)
        starts = np.repeat(low - begin - (np.cumsum(count) - count), count)
        rows = (starts + np.arange(int(count.sum()))).astype(np.int32)
        block = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, np.repeat(column, count))),
                                  shape=(stop - begin, width))
        block.data[:] = 1.0  # duplicates summed by the constructor
        blocks.append(block)
    return sparse.vstack(blocks, format="csr") if blocks else sparse.csr_matrix((0, width), dtype=np.float32)


def _day_numbers(dates: pd.Series, missing: int = np.iinfo(np.int64).min) -> np.ndarray:
    """Dates (or timestamps: their day) as days since 1970-01-01; `missing` where there is none."""
    stamps = pd.to_datetime(dates)
    numbers = stamps.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(stamps.isna().to_numpy(), missing, numbers)


def _decayed_touches(touches: pd.DataFrame, persons: pd.Series, day: np.ndarray,
                     half_life_days: float) -> tuple[np.ndarray, list]:
    """Per open journey day (its person in `persons`, its day number in `day`) and touch type: the person's
    touches of the type on or before the day, each halved every half_life_days days, summed and rounded to 6
    places (0 without any); and the touch types of the persons scored, sorted.

    `touches` holds int_customer_touches_decayed's rows, one per person, touch day and type: a day's value is
    that of the person's latest touch day of the type on or before it, decayed for the days since. Found by
    binary search per type, never by joining each day to each touch (at 10× the demo that join was 15 M rows,
    at 100× ten times that)."""
    person_of_day, scored_persons = _codes(persons)
    touch_person, touch_persons = _codes(touches["customer_id"])
    # Per code (-1, a missing value, last): the person's number among the days' persons, -1 if none.
    person_of_touch = np.append(scored_persons.get_indexer(touch_persons), -1).astype(np.int64)[touch_person]
    type_code, types = _codes(touches["touch_type"])
    kept = (person_of_touch >= 0) & (type_code >= 0)
    touch_types = sorted(types[np.unique(type_code[kept])])
    wide = np.zeros((len(day), len(touch_types)))
    if not touch_types:
        return wide, []
    touched = _day_numbers(touches["touched_on"])
    values = touches["decayed_touches"].to_numpy(dtype=float)
    # Days are after 1970 and before 2^31 days from it: person << 32 + day orders by person, then day.
    day_person = person_of_day.astype(np.int64)
    wanted = (day_person << 32) + day
    for column, code in enumerate(types.get_indexer(touch_types)):
        rows = np.flatnonzero(kept & (type_code == code))
        keys = (person_of_touch[rows] << 32) + touched[rows]
        order = np.argsort(keys, kind="stable")
        rows, keys = rows[order], keys[order]
        latest = np.searchsorted(keys, wanted, side="right") - 1
        hit = (latest >= 0) & (day_person >= 0)
        hit[hit] = (keys[latest[hit]] >> 32) == day_person[hit]  # a touch day of the same person
        source = rows[latest[hit]]
        decayed = values[source] * 0.5 ** ((day[hit] - touched[source]) / half_life_days)
        # To 6 places, half away from zero (as a cast to decimal(18, 6) rounds; never negative here).
        wide[hit, column] = np.floor(decayed * 1e6 + 0.5) / 1e6
    return wide, touch_types


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each value's code and the distinct values (-1: missing): a categorical's own, else factorize's."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    codes, uniques = pd.factorize(values)
    return codes, pd.Index(uniques)


def _features_for(matrix: Matrix, training: np.ndarray, min_journeys: int,
                  max_attributes: int | None = None) -> tuple[list[int], list[str]]:
    """The attribute columns seen in at least min_journeys journeys of the training rows (their names); of
    those, the max_attributes seen in the most journeys (ties: by name), when more qualify. The design of the
    training rows is dense: at 100× the demo 1,941 attribute values qualified (1,809 company names), ~14 GB."""
    present = matrix.attributes[training].tocoo()
    journeys = matrix.days["journey_id"].to_numpy()[training][present.row]
    seen = pd.DataFrame({"column": present.col, "journey": journeys}).drop_duplicates()
    counts = seen.groupby("column").size()
    counts = counts[counts >= min_journeys]
    if max_attributes is not None and len(counts) > max_attributes:
        # Columns are numbered in name order, so the column number breaks ties by name.
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        counts = counts[[column for column, _ in ranked[:max_attributes]]]
    columns = sorted(int(c) for c in counts.index)
    return columns, [matrix.attribute_names[c] for c in columns]


def _design(matrix: Matrix, rows: np.ndarray, columns: list[int]) -> np.ndarray:
    """Dense features of some rows: the behaviour block (log1p, taken here rather than kept beside the raw
    values for every row: 1.1 GB at 100× the demo), then the chosen attribute columns."""
    return np.hstack([np.log1p(matrix.raw[rows]), matrix.attributes[rows][:, columns].toarray()])


def _models() -> dict[str, object]:
    """The two scorers, untrained, with their fixed settings."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=40, learning_rate=0.15, max_leaf_nodes=8, min_samples_leaf=40, max_bins=32,
            l2_regularization=1.0, early_stopping=False, random_state=RANDOM_STATE),
    }


def walk_forward(matrix: Matrix, min_journeys: int, periods: list[date] | None = None,
                 max_attributes: int | None = None) -> Scored:
    """Score every period that has enough history before it (or only `periods`, given by their first days),
    each with models trained only on rows whose outcome window closed before the period's first day."""
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime, so that the limit reaches it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        # One thread: on a busy machine OpenMP's threads made a fit 50 times slower, not faster. And one BLAS
        # thread makes a row's score independent of how many rows are scored with it (BLAS splits a product
        # between its threads by rows), so _score can score a quarter in chunks (of a power of two rows), the
        # same on every machine.
        return _walk_forward(matrix, min_journeys, periods, max_attributes)


def _walk_forward(matrix: Matrix, min_journeys: int, periods: list[date] | None,
                  max_attributes: int | None) -> Scored:
    """walk_forward's steps."""
    days = matrix.days
    quarters = days["score_on"].map(period_start).to_numpy()
    window_end = days["outcome_window_end_on"].to_numpy()
    known = days["is_outcome_known"].to_numpy(dtype=bool)
    label = days["converts_within_window"].to_numpy(dtype=bool)
    sampled = (days["days_since_lead"].to_numpy() % TRAINING_EVERY_DAYS) == 0
    folds, scored_rows, probabilities, factors = [], [], {scorer: [] for scorer in SCORERS}, []
    for cutoff in sorted(set(quarters) if periods is None else set(quarters) & set(periods)):
        training = np.flatnonzero(sampled & known & (window_end < cutoff))
        if label[training].sum() < MIN_TRAINING_POSITIVES or len(set(label[training])) < 2:
            continue
        columns, names = _features_for(matrix, training, min_journeys, max_attributes)
        fitted = {}
        x_train = _design(matrix, training, columns)
        for scorer, model in _models().items():
            fitted[scorer] = model.fit(x_train, label[training])
        scored = np.flatnonzero(quarters == cutoff)
        versions = {scorer: _version(scorer, cutoff, model, names, x_train, label[training])
                    for scorer, model in fitted.items()}
        fold_probabilities, fold_factors = _score(fitted, matrix, scored, columns, names)
        for scorer in SCORERS:
            probabilities[scorer].append(fold_probabilities[scorer])
        factors.append(pd.Series(fold_factors))  # as text now: as Python strings they were twice the size
        scored_rows.append(scored)
        folds.append(Fold(cutoff, len(training), int(label[training].sum()), [*matrix.dense_names, *names],
                          fitted, versions))
    scores = _scores_frame(days, folds, scored_rows, probabilities, factors)
    # The random baseline: what any scorer must beat, drawn per row in a fixed order.
    scores["random_score"] = np.random.default_rng(RANDOM_STATE).random(len(scores))
    result = Scored(scores, folds, day_rows=np.concatenate(scored_rows) if scored_rows else np.arange(0))
    result.metrics = evaluation_metrics(matrix, result)
    return result


def _scores_frame(days: pd.DataFrame, folds: list[Fold], scored_rows: list[np.ndarray],
                  probabilities: dict[str, list[np.ndarray]], factors: list[pd.Series]) -> pd.DataFrame:
    """The scores, one row per scored day in the folds' order. A fold's cut-off and model versions repeat over
    its rows: shared date objects and categoricals (as text per row the versions were ~70 MB at 10×)."""
    columns = ["journey_id", "score_on", "trained_before_on",
               *(f"{s}_{k}" for s in SCORERS for k in ("score", "version")), "top_factors"]
    if not folds:
        return pd.DataFrame(columns=columns)
    fold = np.repeat(np.arange(len(folds)), [len(rows) for rows in scored_rows])
    scores = days.iloc[np.concatenate(scored_rows)][["journey_id", "score_on"]].reset_index(drop=True)
    scores["trained_before_on"] = np.array([f.cutoff_on for f in folds], dtype=object)[fold]
    for scorer in SCORERS:
        scores[f"{scorer}_score"] = np.concatenate(probabilities[scorer])
        scores[f"{scorer}_version"] = pd.Categorical.from_codes(fold, categories=[f.versions[scorer] for f in folds])
    scores["top_factors"] = pd.concat(factors, ignore_index=True)
    return scores


def _score(fitted: dict[str, object], matrix: Matrix, rows: np.ndarray, columns: list[int],
           names: list[str]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Each scorer's probability and the logistic model's top factors for `rows`, SCORING_CHUNK_ROWS rows at a
    time: a quarter's whole design (~300 MB at 10×) is never held. A row's factors are its own. So is its
    score, given one BLAS thread (walk_forward) and chunks of a power of two rows: BLAS sums a block of 4–16
    rows in one kernel and the rest of a product in another, so chunks must start where a block would."""
    probabilities: dict[str, list[np.ndarray]] = {scorer: [] for scorer in fitted}
    factors: list[str] = []
    for begin in range(0, len(rows), SCORING_CHUNK_ROWS):
        chunk = rows[begin:begin + SCORING_CHUNK_ROWS]
        x = _design(matrix, chunk, columns)
        for scorer, model in fitted.items():
            probabilities[scorer].append(model.predict_proba(x)[:, 1])
        factors += explain(fitted["logistic"], x, matrix.raw[chunk], matrix.dense_names, names)
    return {scorer: np.concatenate(parts) if parts else np.zeros(0) for scorer, parts in probabilities.items()}, factors


def _version(scorer: str, cutoff: date, model, attributes: list[str], x: np.ndarray, y: np.ndarray) -> str:
    """A model's name: scorer, training cut-off and a digest of what defines it — its settings, features and
    training rows (fitting is deterministic). Not of the pickled model, which records run details such as the
    threads it used."""
    content = hashlib.sha256(repr(sorted(model.get_params().items())).encode())
    for part in ("\n".join(attributes).encode(), x.tobytes(), y.tobytes()):
        content.update(part)
    return f"{scorer}-{cutoff:%Y%m%d}-{content.hexdigest()[:10]}"


def explain(model, x: np.ndarray, raw: np.ndarray, dense_names: list[str], attribute_names: list[str]) -> list[str]:
    """Per row, the logistic model's largest contributions in words: coefficient × standardised value (the
    change in log-odds against an average row), among what the lead has (a touch type it had, an attribute
    value it carries, its age), largest first, e.g. 'job_title=cto +0.84; 2.1× content_read +0.52'."""
    scaler, logistic = model.steps[0][1], model.steps[-1][1]
    contributions = (x - scaler.mean_) / scaler.scale_ * logistic.coef_[0]
    present = x != 0
    present[:, 0] = True  # the lead's age always applies
    ranked = np.where(present, np.abs(contributions), -1.0)
    rows = np.arange(len(x))
    parts = []
    for column in _top_columns(ranked):
        kept = np.flatnonzero(~(ranked[rows, column] < 0.005))
        part = np.full(len(x), None, dtype=object)
        part[kept] = _factor_words(column[kept], x[kept, column[kept]], raw[kept],
                                   contributions[kept, column[kept]], dense_names, attribute_names)
        parts.append(part)
    return list(_joined(parts, len(x)))


def _joined(parts: list[np.ndarray], count: int) -> np.ndarray:
    """Per row, its named parts (None: none) joined with '; ', or None. Rows repeat each other's factors (half
    of 1.2 M rows at 10×), so each distinct text is made once and shared: a text per row held ~200 bytes each."""
    if not parts or not count:
        return np.full(count, None, dtype=object)
    factorized = [pd.factorize(part) for part in parts]  # None is code -1
    combinations, inverse = np.unique(np.column_stack([codes for codes, _ in factorized]), axis=0,
                                      return_inverse=True)
    texts = np.array(["; ".join(str(names[code]) for code, (_, names) in zip(combination, factorized) if code >= 0)
                      or None for combination in combinations], dtype=object)
    return texts[inverse.reshape(-1)]


def _top_columns(ranked: np.ndarray) -> list[np.ndarray]:
    """Per row, the FACTOR_COUNT columns of the largest values, largest first, ties to the lower column: what
    a stable argsort of the whole row gives, without sorting thousands of columns per row."""
    if np.isnan(ranked).any():  # argmax and argsort differ only on NaN
        return list(np.argsort(-ranked, axis=1, kind="stable")[:, :FACTOR_COUNT].T)
    ranked, rows, top = ranked.copy(), np.arange(len(ranked)), []
    for _ in range(min(FACTOR_COUNT, ranked.shape[1])):
        top.append(ranked.argmax(axis=1))
        ranked[rows, top[-1]] = -np.inf
    return top


def _factor_words(columns: np.ndarray, values: np.ndarray, raw: np.ndarray, contributions: np.ndarray,
                  dense_names: list[str], attribute_names: list[str]) -> np.ndarray:
    """'<feature> <contribution>' of one column per row (its value, the row's raw values, its contribution).
    The column, its value and (for a dense column) its raw value decide the words, so each distinct
    combination is put in words once: rows repeat the same few thousand."""
    if not len(columns):
        return np.array([], dtype=object)
    rows = np.arange(len(columns))
    raw_value = np.where(columns < len(dense_names), raw[rows, np.minimum(columns, len(dense_names) - 1)], 0.0)
    # Compared as bits: -0.0 and 0.0 are equal numbers but not equal words.
    keys = np.column_stack([columns, values.view(np.int64), raw_value.view(np.int64)])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    words = np.array([f"{_factor(int(columns[i]), raw[i], dense_names, attribute_names)} {contributions[i]:+.2f}"
                      for i in first], dtype=object)
    return words[inverse.reshape(-1)]


def _factor(column: int, raw: np.ndarray, dense_names: list[str], attribute_names: list[str]) -> str:
    """A feature of one row in words."""
    if column >= len(dense_names):
        return attribute_names[column - len(dense_names)]
    name = dense_names[column]
    if name == "days_since_lead":
        return f"{int(raw[column])} days since lead"
    return f"{raw[column]:.1f}× {name.removeprefix('touches:')}"


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve: the chance that a converting row outscores a non-converting one, ties half."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else None


def evaluation_metrics(matrix: Matrix, scored: Scored) -> dict[str, dict]:
    """Per scorer: walk-forward AUC over every scored row whose outcome is known, and the rows it rests on.
    Each score row's day is found by its row number (Scored.day_rows), not by joining frames on journey and day."""
    known = matrix.days["is_outcome_known"].to_numpy()[scored.day_rows].astype(bool)
    labels = matrix.days["converts_within_window"].to_numpy()[scored.day_rows][known].astype(bool)
    return {scorer: {"walk_forward_auc": auc(labels, scored.scores[f"{scorer}_score"].to_numpy()[known]),
                     "judged_rows": len(labels), "judged_positives": int(labels.sum())}
            for scorer in (*SCORERS, "random")}


def save_models(scored: Scored, folder: Path, settings_used: dict) -> list[Path]:
    """The latest fold's models (those scoring the current quarter) as joblib files named by their version, each
    with a json of its metrics beside it. Returns the files written."""
    import joblib
    import sklearn

    if not scored.folds:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    latest = scored.folds[-1]
    written = []
    for scorer in SCORERS:
        path = folder / f"{latest.versions[scorer]}.joblib"
        joblib.dump({"model": latest.models[scorer], "features": latest.features}, path)
        metrics = {
            "version": latest.versions[scorer],
            "scorer": scorer,
            "trained_before": latest.cutoff_on.isoformat(),
            "training_rows": latest.training_rows,
            "training_positives": latest.training_positives,
            "features": latest.features,
            **scored.metrics[scorer],
            "random_walk_forward_auc": scored.metrics["random"]["walk_forward_auc"],
            "folds": [{"trained_before": f.cutoff_on.isoformat(), "training_rows": f.training_rows,
                       "training_positives": f.training_positives} for f in scored.folds],
            "settings": settings_used,
            "scikit_learn": sklearn.__version__,
            "random_state": RANDOM_STATE,
        }
        path.with_suffix(".json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
        written += [path, path.with_suffix(".json")]
    return written


@dataclass
class Judged:
    """The judged days — open, outcome known, scored by the walk-forward models, so every scorer is judged on
    the same days — as arrays in one order: journeys and days as numbers in their sorted order, each day's month,
    whether it converted, and every scorer's scores. One copy of each day, whatever the number of scorers and
    periods (a frame of every scorer × period × day was the scorers' peak memory at 10× the demo)."""

    journeys: np.ndarray  # the journey's number among the judged journeys, sorted
    days: np.ndarray  # the day's number in `dates`
    dates: np.ndarray  # every judged day, sorted
    months: np.ndarray  # the day's month's number in `month_starts`
    month_starts: list  # first day of every judged month (date objects)
    labels: np.ndarray  # converts within the window
    scores: dict[str, np.ndarray]  # scorer → score of each day
    is_probability: dict[str, bool]  # scorer → whether its score is a probability (rules: points)


def judged_rows(matrix: Matrix, scored: Scored, rules: pd.DataFrame) -> Judged:
    """Every scorer's score of every judged day. `rules` holds mart_lead_scores' journey_id, score_on and
    total_score (one row per journey and day). Each score row's day is found by its row number and its rules
    score by the journey's and day's numbers: joins of text and date objects were the step's peak at 10×."""
    days = matrix.days
    rows = scored.day_rows
    known = np.flatnonzero(days["is_outcome_known"].to_numpy()[rows].astype(bool))
    journey, journeys = pd.factorize(days["journey_id"])
    day = _day_numbers(days["score_on"])
    rule_journey = journeys.get_indexer(rules["journey_id"]).astype(np.int64)
    scored_journey = np.flatnonzero(rule_journey >= 0)  # rules of journeys with no open day score nothing
    rule_keys = pd.Index((rule_journey[scored_journey] << 32) + _day_numbers(rules["score_on"])[scored_journey])
    if not rule_keys.is_unique:
        raise ValueError("mart_lead_scores holds a journey and day twice: its unique_combination test says which")
    found = rule_keys.get_indexer((journey[rows[known]].astype(np.int64) << 32) + day[rows[known]])
    judged, position = known[found >= 0], scored_journey[found[found >= 0]]  # score rows' order, as a merge keeps
    judged_days = rows[judged]
    score_on = days["score_on"].iloc[judged_days].reset_index(drop=True)
    day_numbers, dates = pd.factorize(score_on, sort=True)
    month_numbers, month_starts = pd.factorize(_month_starts(score_on), sort=True)
    scores = {"rules": rules["total_score"].to_numpy()[position].astype(float)}
    scores |= {s: scored.scores[f"{s}_score"].to_numpy()[judged].astype(float) for s in (*SCORERS, "random")}
    return Judged(
        journeys=pd.factorize(days["journey_id"].to_numpy()[judged_days], sort=True)[0], days=day_numbers,
        dates=np.asarray(dates), months=month_numbers, month_starts=list(month_starts),
        labels=days["converts_within_window"].to_numpy()[judged_days].astype(bool),
        scores=scores, is_probability={"rules": False, **dict.fromkeys((*SCORERS, "random"), True)})


def _month_starts(days: pd.Series) -> np.ndarray:
    """The first day of each day's month (date objects), worked out once per distinct day."""
    codes, distinct = pd.factorize(days, use_na_sentinel=False)
    return np.array([date(d.year, d.month, 1) for d in distinct], dtype=object)[codes]


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """AUC from rank statistics: of all (converting, non-converting) pairs, the share in which the converting
    day scores higher, ties counting half. None without both kinds of day."""
    frame = pd.DataFrame({"score": scores, "positive": labels.astype(int), "negative": (~labels).astype(int)})
    groups = frame.groupby("score", sort=True)[["positive", "negative"]].sum()
    positives, negatives = int(groups["positive"].sum()), int(groups["negative"].sum())
    if not positives or not negatives:
        return None
    below = groups["negative"].cumsum() - groups["negative"]
    return float((groups["positive"] * (below + groups["negative"] / 2)).sum() / (positives * negatives))


def _deciles(score: np.ndarray, journey: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Score decile of each row of one scorer and period: 1 for the tenth with the highest scores (ties broken
    by journey and day, both numbered in their order), sized as SQL's ntile(10)."""
    ordered = np.lexsort((day, journey, -score))  # stable, as a mergesort by score descending, journey, day
    base, extra = divmod(len(score), 10)
    deciles = np.empty(len(score), dtype=int)
    deciles[ordered] = np.repeat(np.arange(1, 11), [base + (1 if i < extra else 0) for i in range(10)])
    return deciles


def quality_rows(judged: Judged) -> tuple[list[tuple], list[tuple]]:
    """The score-quality mart's rows (scorer × period: judged days, AUC, top-decile lift, mean probability) and
    the calibration mart's (scorer × period × decile: mean score beside the observed rate). Scorers in name
    order; per scorer 'all', then each month in date order; each period's days in the judged days' order (so
    sums add up in the same order whichever way they are grouped)."""
    quality, calibration = [], []
    periods = [("all", None, np.arange(len(judged.labels)))] + [
        ("month", start, np.flatnonzero(judged.months == number)) for number, start in enumerate(judged.month_starts)]
    for scorer in sorted(judged.scores):
        probability = judged.is_probability[scorer]
        for period, start, rows in periods:
            if not len(rows):
                continue
            labels, scores, days = judged.labels[rows], judged.scores[scorer][rows], judged.days[rows]
            deciles = _deciles(scores, judged.journeys[rows], days)
            top = labels[deciles == 1]
            rate = labels.mean()
            quality.append((
                scorer, period, start, judged.dates[days.min()], judged.dates[days.max()], len(rows),
                len(np.unique(judged.journeys[rows])), int(labels.sum()), _round(rate),
                _round(rank_auc(labels, scores)), len(top), int(top.sum()),
                _round(top.mean() / rate) if rate else None,
                _round(pd.Series(scores).mean()) if probability else None))
            for decile in range(1, 11):
                chosen = deciles == decile
                if not chosen.any():
                    continue
                score, observed = scores[chosen], labels[chosen]
                calibration.append((
                    scorer, period, start, decile, int(chosen.sum()), int(observed.sum()), _round(score.min()),
                    _round(score.max()), _round(score.mean()), _round(observed.mean()),
                    _round(score.mean() - observed.mean()) if probability else None))
    return quality, calibration


def _round(value: float | None) -> float | None:
    """Six decimals, as the marts keep them."""
    return None if value is None or pd.isna(value) else round(float(value), 6)
