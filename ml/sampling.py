"""Train/test splits with upstream's ``test_size`` and ``test_sampling`` semantics.

- ``test_size`` <= 1 is a fraction of the rows (rounded), > 1 a row count; a split that
  leaves no training row is refused.
- ``last``: the relation's own order; the last rows are the test set (time-ordered
  views give an honest forward test).
- ``random``: a seeded shuffle (upstream uses ``ORDER BY RANDOM()``; a seed makes
  retrains on unchanged data comparable, which the automatic deploy rule relies on).
- ``stratified``: for classification, every class keeps its share in the test set.
  Upstream partitions by the target value, so on a continuous regression target each
  value is its own stratum and the split degenerates to random: we do exactly that
  (random) for regression and unlabelled anomaly detection.
"""

from __future__ import annotations

import numpy as np

from ml.errors import InvalidArgumentError


def count_test_rows(project: str, num_rows: int, test_size: float) -> int:
    if test_size is None or test_size <= 0:
        raise InvalidArgumentError(f"project `{project}`: test_size must be > 0, got {test_size}")
    num_test = int(test_size) if test_size > 1 else int(round(num_rows * test_size))
    num_test = max(num_test, 1)
    if num_rows - num_test < 1:
        raise InvalidArgumentError(
            f"project `{project}`: test_size = {test_size} is too large; there are only {num_rows} samples"
        )
    return num_test


def split_indices(
    project: str,
    num_rows: int,
    test_size: float,
    test_sampling: str,
    stratify_on: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, test_idx) into rows read in the relation's order."""
    num_test = count_test_rows(project, num_rows, test_size)
    if test_sampling == "last":
        order = np.arange(num_rows)
        return order[: num_rows - num_test], order[num_rows - num_test :]
    rng = np.random.default_rng(seed)
    if test_sampling == "stratified" and stratify_on is not None:
        return _stratified(stratify_on, num_test, rng)
    if test_sampling not in ("random", "stratified"):
        raise InvalidArgumentError(
            f"project `{project}`: unknown test_sampling {test_sampling!r} (random | last | stratified)"
        )
    order = rng.permutation(num_rows)
    return np.sort(order[num_test:]), np.sort(order[:num_test])


def _stratified(labels: np.ndarray, num_test: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    classes, inverse = np.unique(labels, return_inverse=True)
    fraction = num_test / labels.size
    per_class = [np.flatnonzero(inverse == k) for k in range(classes.size)]
    quotas = np.array([len(idx) * fraction for idx in per_class])
    take = np.floor(quotas).astype(int)
    # Largest remainders get the rows that rounding left over.
    for k in np.argsort(-(quotas - take))[: num_test - int(take.sum())]:
        take[k] += 1
    test = np.concatenate([rng.permutation(idx)[:n] for idx, n in zip(per_class, take, strict=True)])
    mask = np.zeros(labels.size, dtype=bool)
    mask[test] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)
