"""Comparing a mart with its independent reference: same keys, equal counts, close numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd


def _key(series: pd.Series) -> pd.Series:
    """Keys as comparable values: timestamps in UTC, ids as integers, NULL as a marker."""
    if series.map(lambda v: hasattr(v, "tzinfo") and hasattr(v, "hour")).any():
        return pd.to_datetime(series, utc=True)
    if series.map(lambda v: isinstance(v, int | float | np.integer | np.floating) or v is None).all() and \
            series.dropna().map(lambda v: float(v).is_integer()).all():
        return series.astype("Float64").astype("Int64").astype(str)
    return series.where(series.notna(), "<none>")


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.map(lambda v: np.nan if v is None else v), errors="coerce").astype(float).to_numpy()


def assert_same(name: str, expected: pd.DataFrame, actual: pd.DataFrame, keys: list[str],
                exact: Iterable[str] = (), close: Mapping[str, float] | None = None) -> None:
    """Every key in both frames, ``exact`` columns equal, ``close`` columns within their tolerance
    (NULL only where the reference has NULL)."""
    assert len(actual) > 0, f"{name} is empty: nothing was compared"
    left, right = expected.copy(), actual.copy()
    for key in keys:
        left[key], right[key] = _key(left[key]), _key(right[key])
    assert not right.duplicated(keys).any(), f"{name}: the mart holds a key twice"
    merged = left.merge(right, on=keys, how="outer", suffixes=("_ref", "_mart"), indicator=True)
    missing = merged[merged._merge != "both"]
    assert missing.empty, f"{name}: keys on one side only:\n{missing[[*keys, '_merge']].head(10)}"
    for column in exact:
        ref, mart = _numbers(merged[f"{column}_ref"]), _numbers(merged[f"{column}_mart"])
        wrong = ~((ref == mart) | (np.isnan(ref) & np.isnan(mart)))
        assert not wrong.any(), f"{name}.{column}:\n{merged.loc[wrong, [*keys, f'{column}_ref', f'{column}_mart']].head()}"
    for column, tolerance in (close or {}).items():
        ref, mart = _numbers(merged[f"{column}_ref"]), _numbers(merged[f"{column}_mart"])
        wrong = ~(np.isclose(mart, ref, rtol=0, atol=tolerance) | (np.isnan(ref) & np.isnan(mart)))
        assert not wrong.any(), f"{name}.{column}:\n{merged.loc[wrong, [*keys, f'{column}_ref', f'{column}_mart']].head()}"
