"""A model whose backend can be switched off from the outside: the real fault the consumer's
retry policy exists for (the model cannot run now, later it can), produced for real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: Dotted name for MODEL_TRUSTED_TYPES (a skops file of this model holds this type).
TRUSTED_TYPE = "tests.worker.flaky.FlakyRegressor"


class FlakyRegressor:
    """Predicts 0.0 for every row, except that `predict` raises OSError while `trip_file`
    exists."""

    def __init__(self, trip_file: Path, n_features: int = 2) -> None:
        self.trip_file = str(trip_file)
        self.n_features_in_ = n_features

    def predict(self, x: Any) -> Any:
        if Path(self.trip_file).exists():
            raise OSError(f"model backend unavailable ({Path(self.trip_file).name})")
        return np.zeros(len(x))


def flaky_payload(trip_file: Path) -> dict[str, Any]:
    return {
        "estimator": FlakyRegressor(trip_file),
        "feature_names": ["a", "b"],
        "kind": "regressor",
        "version": "flaky-1",
        "description": "0.0, unless its trip file exists",
    }
