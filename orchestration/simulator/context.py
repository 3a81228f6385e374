"""What every generator shares: the random streams, the window and the defect rates."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from orchestration.simulator.scales import Scale


@dataclass
class SimContext:
    seed: int
    scale: Scale
    days: int
    end_date: date  # exclusive: history covers [end_date - days, end_date)
    rates: dict[str, float]
    planted: dict[str, int] = field(default_factory=dict)

    def rng(self, stream: str) -> np.random.Generator:
        """An independent, named random stream: adding a table never shifts another's data."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])

    @property
    def start(self) -> datetime:
        return datetime.combine(self.end_date - timedelta(days=self.days), time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.end_date, time(), tzinfo=UTC)

    def day_starts(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.days, freq="D", tz="UTC")

    def daily_counts(self, stream: str, per_day: int) -> np.ndarray:
        """Events per day: weekly seasonality, mild growth, Poisson noise."""
        rng = self.rng(stream + ":counts")
        days = self.day_starts()
        weekday = np.where(days.dayofweek >= 5, 0.6, 1.0)
        growth = np.linspace(0.9, 1.1, self.days)
        return rng.poisson(per_day * weekday * growth)

    def event_times(self, stream: str, per_day: int) -> pd.Series:
        """Timestamps of events spread over the window, sorted."""
        rng = self.rng(stream + ":times")
        counts = self.daily_counts(stream, per_day)
        starts = np.repeat(self.day_starts().asi8, counts)
        offsets = rng.integers(0, 86_400_000_000, size=starts.size) * 1000  # microseconds -> ns
        return pd.Series(pd.to_datetime(np.sort(starts + offsets), utc=True))

    def sample_rows(self, stream: str, n: int, kind: str, eligible: np.ndarray | None = None) -> np.ndarray:
        """Indices of rows that get defect ``kind`` (rate from the catalogue settings, of all ``n`` rows).

        ``eligible`` (a boolean mask) limits the choice to rows that can carry the defect, so
        what the report counts as planted is what the data holds, whatever the window's dates.
        """
        rate = self.rates.get(kind, 0.0)
        if rate <= 0 or n == 0:
            return np.array([], dtype=int)
        rng = self.rng(f"defect:{kind}:{stream}")
        count = max(1, int(round(n * rate)))
        if eligible is None:
            picked = np.sort(rng.choice(n, size=min(count, n), replace=False))
        else:
            candidates = np.flatnonzero(eligible)
            picked = np.sort(candidates[rng.choice(len(candidates), size=min(count, len(candidates)),
                                                   replace=False)])
        self.planted[f"{kind}:{stream}"] = self.planted.get(f"{kind}:{stream}", 0) + len(picked)
        return picked
