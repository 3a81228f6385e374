"""Per-column preprocessing with upstream PostgresML's vocabulary and defaults.

``preprocess`` maps a column name to ``{"encode": ..., "impute": ..., "scale": ...}``:

- encode: ``native`` (default; text categories become 1, 2, ... in order of first
  appearance, NULL is category 0), ``target`` (mean of the first target per
  category), ``one_hot`` (one 0/1 column per training category; NULL or unseen is all
  zeros), ``{"ordinal": ["low", "high"]}`` (1-based position; a training value outside
  the list is an error). Encoding a numeric column is an error, as upstream.
- impute: ``error`` (default: a NULL aborts training or prediction, naming the project
  and the column), ``mean``, ``median``, ``mode``, ``min``, ``max``, ``zero``. Unseen
  categories at prediction time are missing values too.
- scale: ``preserve`` (default), ``standard``, ``min_max``, ``max_abs``, ``robust``
  (median and inter-quartile range; upstream uses its own ventiles).

Engine extension, for free text (upstream has none for tabular tasks): the key
``"text"`` turns a text column into a bag-of-words block, e.g.
``{"summary": {"text": "tfidf"}}`` or
``{"summary": {"text": {"method": "tfidf" | "hashing", "max_features": 64, "ngram_range": [1, 2]}}}``.
NULL text is the empty string. A text column without ``"text"`` is a categorical.

Statistics are computed on the training rows only and stored with the model, so the
same transformation applies at prediction time in any process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

from ml.errors import FeatureShapeError, InvalidArgumentError, InvalidColumnError, MissingValuesError

ENCODINGS = ("native", "target", "one_hot")
IMPUTATIONS = ("error", "mean", "median", "mode", "min", "max", "zero")
SCALINGS = ("preserve", "standard", "min_max", "max_abs", "robust")
TEXT_METHODS = ("tfidf", "hashing")
TEXT_KEY = "text"
NULL_CATEGORY = "__NULL__"
_DEFAULT_TEXT_WIDTH = 64


@dataclass(frozen=True)
class TextSpec:
    method: str = "tfidf"
    max_features: int = _DEFAULT_TEXT_WIDTH
    ngram_range: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class ColumnSpec:
    encode: str = "native"
    ordinal: tuple[str, ...] = ()
    impute: str = "error"
    scale: str = "preserve"
    text: TextSpec | None = None


def _parse_text(project: str, column: str, value: Any) -> TextSpec:
    if isinstance(value, str):
        value = {"method": value}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"project `{project}`: preprocess `{column}.text` must be a string or an object")
    method = value.get("method", "tfidf")
    if method not in TEXT_METHODS:
        raise InvalidArgumentError(
            f"project `{project}`: unknown text method {method!r} for column `{column}` (use {TEXT_METHODS})"
        )
    width = int(value.get("max_features", value.get("n_features", _DEFAULT_TEXT_WIDTH)))
    low, high = (int(v) for v in value.get("ngram_range", (1, 1)))
    if width < 1 or low < 1 or high < low:
        raise InvalidArgumentError(f"project `{project}`: invalid text options for column `{column}`: {value}")
    return TextSpec(method=method, max_features=width, ngram_range=(low, high))


def parse_column_spec(project: str, column: str, raw: Any, kind: str) -> ColumnSpec:
    """Validate one column's preprocess object; ``kind`` is numeric | bool | text."""
    if not isinstance(raw, Mapping):
        raise InvalidArgumentError(f"project `{project}`: preprocess for column `{column}` must be an object")
    unknown = set(raw) - {"encode", "impute", "scale", TEXT_KEY}
    if unknown:
        raise InvalidArgumentError(f"project `{project}`: unknown preprocess keys {sorted(unknown)} for `{column}`")
    encode = raw.get("encode", "native")
    ordinal: tuple[str, ...] = ()
    if isinstance(encode, Mapping) and set(encode) == {"ordinal"}:
        ordinal = tuple(str(v) for v in encode["ordinal"])
        encode = "ordinal"
    elif encode not in ENCODINGS:
        raise InvalidArgumentError(
            f"project `{project}`: unknown encode {encode!r} for column `{column}` "
            f"(use {ENCODINGS} or {{\"ordinal\": [...]}})"
        )
    impute = raw.get("impute", "error")
    if impute not in IMPUTATIONS:
        raise InvalidArgumentError(f"project `{project}`: unknown impute {impute!r} for `{column}` ({IMPUTATIONS})")
    scale = raw.get("scale", "preserve")
    if scale not in SCALINGS:
        raise InvalidArgumentError(f"project `{project}`: unknown scale {scale!r} for `{column}` ({SCALINGS})")
    text = _parse_text(project, column, raw[TEXT_KEY]) if TEXT_KEY in raw else None
    if text is not None and kind != "text":
        raise InvalidColumnError(f"project `{project}`: column `{column}` is not a text column; `text` needs one")
    if kind != "text" and encode != "native":
        raise InvalidArgumentError(
            f"project `{project}`: it does not make sense to encode ({encode}) the continuous column `{column}`; "
            "use the default `native`"
        )
    if kind == "text" and text is None and impute == "mean" and encode != "target":
        raise InvalidArgumentError(
            f"project `{project}`: impute `mean` on the categorical column `{column}` needs encode `target`; "
            "there is no average category (`mode` is a valid alternative)"
        )
    return ColumnSpec(encode=encode, ordinal=ordinal, impute=impute, scale=scale, text=text)


def _statistics(values: np.ndarray) -> dict[str, float]:
    present = np.sort(values[~np.isnan(values)])  # one sort gives order statistics, distinct values and mode
    stats: dict[str, float] = {"missing": float(values.size - present.size)}
    if present.size == 0:
        return stats
    starts = np.concatenate(([0], np.flatnonzero(np.diff(present)) + 1))
    counts = np.diff(np.append(starts, present.size))
    q25, median, q75 = np.percentile(present, [25, 50, 75])
    stats.update(
        min=float(present[0]),
        max=float(present[-1]),
        max_abs=float(max(abs(present[0]), abs(present[-1]))),
        mean=float(present.mean()),
        median=float(median),
        mode=float(present[starts[np.argmax(counts)]]),  # the smallest of the most frequent values
        std_dev=float(present.std()),
        q25=float(q25),
        q75=float(q75),
        distinct=float(starts.size),
    )
    return stats


def _nonzero(value: float) -> float:
    # A constant column would divide by zero; leave its values centred instead.
    return value if value and np.isfinite(value) else 1.0


@dataclass
class FittedColumn:
    """One raw column's learned transformation."""

    name: str
    kind: str  # numeric | bool | categorical | text
    spec: ColumnSpec
    stats: dict[str, float] = field(default_factory=dict)
    mapping: dict[str, float] = field(default_factory=dict)  # categorical values -> code
    categories: list[str] = field(default_factory=list)  # one_hot columns
    vectorizer: Any = None

    @property
    def width(self) -> int:
        if self.kind == "text":
            return int(self.spec.text.max_features) if self.spec.text else 0
        if self.kind == "categorical" and self.spec.encode == "one_hot":
            return len(self.categories)
        return 1

    def output_names(self) -> list[str]:
        if self.kind == "text":
            return [f"{self.name}__{i}" for i in range(self.width)]
        if self.kind == "categorical" and self.spec.encode == "one_hot":
            return [f"{self.name}={c}" for c in self.categories]
        return [self.name]

    def describe(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"encode": self.spec.encode, "impute": self.spec.impute, "scale": self.spec.scale}
        if self.spec.encode == "ordinal":
            spec["encode"] = {"ordinal": list(self.spec.ordinal)}
        if self.spec.text:
            spec[TEXT_KEY] = {"method": self.spec.text.method, "max_features": self.spec.text.max_features}
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "preprocessor": spec, "statistics": self.stats}
        if self.mapping and len(self.mapping) <= 100:
            out["categories"] = self.mapping
        return out

    # --- fitting -------------------------------------------------------------

    def fit(self, values: np.ndarray, target: np.ndarray | None, project: str) -> None:
        if self.kind == "text":
            self._fit_text(values)
            return
        if self.kind == "categorical":
            self._fit_categories(values, target, project)
            values = self._codes(values)
        self.stats = _statistics(values)

    def _fit_text(self, values: np.ndarray) -> None:
        assert self.spec.text is not None
        docs = _documents(values)
        if self.spec.text.method == "hashing":
            self.vectorizer = HashingVectorizer(
                n_features=self.spec.text.max_features,
                ngram_range=self.spec.text.ngram_range,
                alternate_sign=False,
                norm="l2",
            )
        else:
            self.vectorizer = TfidfVectorizer(
                max_features=self.spec.text.max_features, ngram_range=self.spec.text.ngram_range, dtype=np.float64
            )
            self.vectorizer.fit(docs)
            # TF-IDF may learn fewer terms than asked for; the block is padded to the declared width.
        self.stats = {"documents": float(len(docs)), "empty": float(sum(1 for d in docs if not d))}

    def _fit_categories(self, values: np.ndarray, target: np.ndarray | None, project: str) -> None:
        series = pd.Series(values, dtype=object)
        present = series[series.notna()].astype(str)
        seen = list(pd.unique(present))
        encode = self.spec.encode
        if encode == "ordinal":
            allowed = {v: float(i + 1) for i, v in enumerate(self.spec.ordinal)}
            outside = sorted(set(seen) - set(allowed))
            if outside:
                raise InvalidColumnError(
                    f"project `{project}`: values {outside[:5]} of column `{self.name}` are not in its ordinal list "
                    f"{list(self.spec.ordinal)}"
                )
            self.mapping = allowed
        elif encode == "target":
            if target is None:
                raise InvalidArgumentError(f"project `{project}`: target encoding of `{self.name}` needs a target")
            frame = pd.DataFrame({"k": series.where(series.isna(), series.astype(str)), "y": target})
            means = frame.groupby("k", dropna=False)["y"].mean()
            overall = float(np.mean(target)) if len(target) else 0.0
            self.mapping = {str(k): float(v) for k, v in means.items() if not pd.isna(k)}
            null_mean = frame.loc[frame["k"].isna(), "y"]
            self.mapping[NULL_CATEGORY] = float(null_mean.mean()) if len(null_mean) else overall
        else:
            self.mapping = {v: float(i + 1) for i, v in enumerate(seen)}
            if encode == "one_hot":
                self.categories = seen
        self.mapping.setdefault(NULL_CATEGORY, 0.0)

    # --- transforming --------------------------------------------------------

    def _codes(self, values: np.ndarray) -> np.ndarray:
        series = pd.Series(values, dtype=object)
        nulls = series.isna().to_numpy()
        codes = series.astype(str).map(self.mapping).to_numpy(dtype=np.float64, na_value=np.nan)
        codes[nulls] = self.mapping.get(NULL_CATEGORY, 0.0)
        return codes

    def transform(self, values: np.ndarray, project: str) -> np.ndarray:
        """Return a (n, width) float64 block."""
        if self.kind == "text":
            return self._transform_text(values)
        if self.kind == "categorical" and self.spec.encode == "one_hot":
            strings = pd.Series(values, dtype=object)
            strings = strings.where(strings.isna(), strings.astype(str)).to_numpy()
            return np.column_stack([strings == c for c in self.categories]).astype(np.float64) if self.categories else (
                np.zeros((len(values), 0))
            )
        column = self._codes(values) if self.kind == "categorical" else np.asarray(values, dtype=np.float64)
        column = self._impute(column, project)
        return self._scale(column).reshape(-1, 1)

    def _transform_text(self, values: np.ndarray) -> np.ndarray:
        dense = self.vectorizer.transform(_documents(values)).toarray()
        width = self.width
        if dense.shape[1] < width:
            dense = np.pad(dense, ((0, 0), (0, width - dense.shape[1])))
        return dense

    def _impute(self, column: np.ndarray, project: str) -> np.ndarray:
        missing = np.isnan(column)
        if not missing.any():
            return column
        method = self.spec.impute
        if method == "error":
            suggestion = "mode" if self.kind == "categorical" else "mean"
            what = "missing or unseen values" if self.kind == "categorical" else "missing values"
            raise MissingValuesError(
                f"project `{project}`: {int(missing.sum())} {what} for column `{self.name}`. "
                f"You may provide a preprocessor to impute a value, e.g. "
                f"preprocess => '{{\"{self.name}\": {{\"impute\": \"{suggestion}\"}}}}'"
            )
        fill = 0.0 if method == "zero" else self.stats.get(method, np.nan)
        if np.isnan(fill):
            raise MissingValuesError(
                f"project `{project}`: cannot impute `{method}` for column `{self.name}`: it had no training values"
            )
        column = column.copy()
        column[missing] = fill
        return column

    def _scale(self, column: np.ndarray) -> np.ndarray:
        s = self.stats
        match self.spec.scale:
            case "standard":
                return (column - s["mean"]) / _nonzero(s["std_dev"])
            case "min_max":
                return (column - s["min"]) / _nonzero(s["max"] - s["min"])
            case "max_abs":
                return column / _nonzero(s["max_abs"])
            case "robust":
                return (column - s["median"]) / _nonzero(s["q75"] - s["q25"])
            case _:
                return column


def _documents(values: np.ndarray) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


@dataclass
class FeaturePipeline:
    """The ordered feature columns of a snapshot and how each becomes model input."""

    project: str
    columns: list[FittedColumn]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def width(self) -> int:
        return sum(c.width for c in self.columns)

    @property
    def all_numeric(self) -> bool:
        return all(c.kind in ("numeric", "bool") for c in self.columns)

    def output_names(self) -> list[str]:
        return [name for c in self.columns for name in c.output_names()]

    def fit(self, data: Mapping[str, np.ndarray], target: np.ndarray | None) -> FeaturePipeline:
        for column in self.columns:
            column.fit(data[column.name], target, self.project)
        return self

    def transform(self, data: Mapping[str, np.ndarray]) -> np.ndarray:
        blocks = [c.transform(data[c.name], self.project) for c in self.columns]
        if len(blocks) == 1:
            return np.ascontiguousarray(blocks[0])
        return np.hstack(blocks)

    def transform_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Fast path for all-numeric models: a (n, k) float matrix in feature order."""
        if all(c.spec.scale == "preserve" for c in self.columns) and not np.isnan(matrix).any():
            return matrix
        return np.hstack([c.transform(matrix[:, i], self.project) for i, c in enumerate(self.columns)])

    def transform_rows(self, rows: Any) -> np.ndarray:
        """Rows as a DataFrame / Arrow table (by column name) or a sequence of raw feature vectors."""
        if isinstance(rows, pd.DataFrame):
            missing = [n for n in self.names if n not in rows.columns]
            if missing:
                raise InvalidColumnError(f"project `{self.project}`: input lacks feature columns {missing}")
            return self.transform({n: rows[n].to_numpy() for n in self.names})
        if hasattr(rows, "column_names") and hasattr(rows, "column"):  # pyarrow.Table
            missing = [n for n in self.names if n not in rows.column_names]
            if missing:
                raise InvalidColumnError(f"project `{self.project}`: input lacks feature columns {missing}")
            return self.transform({n: rows.column(n).to_numpy(zero_copy_only=False) for n in self.names})
        expected = len(self.columns)
        if self.all_numeric:
            try:
                matrix = np.asarray(rows, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"project `{self.project}`: features must be numbers: {exc}") from exc
            if matrix.ndim != 2 or matrix.shape[1] != expected:
                got = matrix.shape[1] if matrix.ndim == 2 else matrix.shape
                raise _shape_error(self.project, expected, got, self.names)
            return self.transform_matrix(matrix)
        table = np.asarray(rows, dtype=object)
        if table.ndim != 2 or table.shape[1] != expected:
            got = table.shape[1] if table.ndim == 2 else table.shape
            raise _shape_error(self.project, expected, got, self.names)
        data: dict[str, np.ndarray] = {}
        for i, column in enumerate(self.columns):
            raw = table[:, i]
            data[column.name] = raw if column.kind in ("text", "categorical") else _floats(raw, self.project, column.name)
        return self.transform(data)


def _floats(values: Sequence[Any] | np.ndarray, project: str, name: str) -> np.ndarray:
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"project `{project}`: feature `{name}` must be a number: {exc}") from exc


def _shape_error(project: str, expected: int, got: Any, names: list[str]) -> Exception:
    return FeatureShapeError(
        f"project `{project}`: expected {expected} features ({', '.join(names)}), got {got}"
    )
