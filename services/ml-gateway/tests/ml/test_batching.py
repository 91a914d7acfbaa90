"""ModelBatcher: concurrent requests for a model share calls; each gets its own result or error.

No test depends on timing: a batch that must gather N requests gets a delay far longer than
the test and a size of exactly N, so it closes on size, never on the clock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import numpy as np
import pytest

from app.ml.batching import Batchers, ModelBatcher, model_executor
from app.ml.builtin import load_split
from app.ml.model import InvalidInputError, LoadedModel, PredictionResult
from app.ml.registry import ModelRegistry
from tests.helpers import categorical_digits_payload

T = TypeVar("T")
#: "Never" for these tests: a batch closes on its size.
FOREVER_S = 600.0
TEST_TIMEOUT_S = 60.0


class Calls:
    """Records the batcher's model calls as (instances, requests)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, model: str, instances: int, requests: int) -> None:
        self.calls.append((instances, requests))


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(TEST_TIMEOUT_S):
            return await coroutine

    return asyncio.run(bounded())


@pytest.fixture(scope="module")
def iris(registry: ModelRegistry) -> LoadedModel:
    return registry.get("iris")


@pytest.fixture(scope="module")
def digits_nb() -> LoadedModel:
    return LoadedModel.create(name="digits-nb", source="file", **categorical_digits_payload())


def rows(name: str, count: int) -> list[np.ndarray[Any, Any]]:
    x = load_split(name).x_test[:count]
    return [x[i : i + 1] for i in range(count)]


def test_concurrent_requests_share_one_call_and_get_their_own_rows(iris: LoadedModel) -> None:
    calls = Calls()
    singles = rows("iris", 8)

    async def scenario() -> list[PredictionResult]:
        batcher = ModelBatcher(
            iris, max_batch_size=8, max_delay_s=FOREVER_S, executor=model_executor(), observe=calls
        )
        try:
            return await asyncio.gather(*(batcher.predict(x) for x in singles))
        finally:
            await batcher.close()

    results = run(scenario())

    assert calls.calls == [(8, 8)]
    for x, result in zip(singles, results, strict=True):
        alone = iris.predict(x)
        assert result.predictions == alone.predictions
        assert result.probabilities is not None
        assert alone.probabilities is not None
        np.testing.assert_allclose(result.probabilities, alone.probabilities)


def test_requests_of_several_rows_are_sliced_back(iris: LoadedModel) -> None:
    x = load_split("iris").x_test
    parts = [x[0:3], x[3:4], x[4:9]]  # 3 + 1 + 5 = 9 rows

    async def scenario() -> list[PredictionResult]:
        batcher = ModelBatcher(
            iris, max_batch_size=9, max_delay_s=FOREVER_S, executor=model_executor()
        )
        try:
            return await asyncio.gather(*(batcher.predict(p) for p in parts))
        finally:
            await batcher.close()

    results = run(scenario())
    assert [len(r.predictions) for r in results] == [3, 1, 5]
    assert [p for r in results for p in r.predictions] == iris.predict(x[0:9]).predictions


def test_a_batch_never_exceeds_max_batch_size(iris: LoadedModel) -> None:
    calls = Calls()
    singles = rows("iris", 12)

    async def scenario() -> list[PredictionResult]:
        batcher = ModelBatcher(
            iris, max_batch_size=4, max_delay_s=FOREVER_S, executor=model_executor(), observe=calls
        )
        try:
            return await asyncio.gather(*(batcher.predict(x) for x in singles))
        finally:
            await batcher.close()

    results = run(scenario())
    assert calls.calls == [(4, 4)] * 3
    assert [r.predictions[0] for r in results] == [iris.predict(x).predictions[0] for x in singles]


@pytest.mark.parametrize(
    ("adaptive", "max_delay_s"),
    [
        # Fixed delay: with no companions coming, the batch closes on its delay (kept short here).
        (False, 0.005),
        # Adaptive: nothing else queued and the model idle, the batch closes at once, whatever the
        # delay (a batch that waited for it would hold the test past its timeout).
        (True, FOREVER_S),
    ],
    ids=["fixed-delay-closes-on-its-delay", "adaptive-goes-at-once"],
)
def test_a_lone_request_is_answered_alone(
    iris: LoadedModel, adaptive: bool, max_delay_s: float
) -> None:
    calls = Calls()

    async def scenario() -> PredictionResult:
        batcher = ModelBatcher(
            iris,
            max_batch_size=64,
            max_delay_s=max_delay_s,
            executor=model_executor(),
            observe=calls,
            adaptive=adaptive,
        )
        try:
            return await batcher.predict(rows("iris", 1)[0])
        finally:
            await batcher.close()

    assert len(run(scenario()).predictions) == 1
    assert calls.calls == [(1, 1)]


def test_one_bad_input_fails_only_its_request(digits_nb: LoadedModel) -> None:
    """CategoricalNB rejects a negative pixel: the combined call fails, so every request of the
    batch runs alone and only the bad one gets the error."""
    calls = Calls()
    good = rows("digits", 3)
    bad = np.full((1, 64), -1.0)
    inputs = [good[0], bad, good[1], good[2]]

    async def scenario() -> list[PredictionResult | BaseException]:
        batcher = ModelBatcher(
            digits_nb,
            max_batch_size=4,
            max_delay_s=FOREVER_S,
            executor=model_executor(),
            observe=calls,
        )
        try:
            return await asyncio.gather(
                *(batcher.predict(x) for x in inputs), return_exceptions=True
            )
        finally:
            await batcher.close()

    results = run(scenario())

    assert isinstance(results[1], InvalidInputError)
    assert "Negative values" in str(results[1])
    for i in (0, 2, 3):
        result = results[i]
        assert isinstance(result, PredictionResult)
        assert result.predictions == digits_nb.predict(inputs[i]).predictions
    assert calls.calls == [(1, 1)] * 3  # the three good ones, each on its own


def test_disabled_batching_calls_the_model_per_request(iris: LoadedModel) -> None:
    calls = Calls()
    singles = rows("iris", 5)

    async def scenario() -> list[PredictionResult]:
        batchers = Batchers(enabled=False, max_batch_size=64, max_delay_s=FOREVER_S, observe=calls)
        try:
            return await asyncio.gather(*(batchers.predict(iris, x) for x in singles))
        finally:
            await batchers.close()

    results = run(scenario())
    assert calls.calls == [(1, 1)] * 5
    assert [r.predictions for r in results] == [iris.predict(x).predictions for x in singles]


def test_batchers_keep_models_apart(iris: LoadedModel, registry: ModelRegistry) -> None:
    """Requests for two models never share a call: each model has its own queue."""
    calls = Calls()
    wine = registry.get("wine")
    iris_rows = rows("iris", 2)
    wine_rows = rows("wine", 2)

    async def scenario() -> list[PredictionResult]:
        batchers = Batchers(enabled=True, max_batch_size=2, max_delay_s=FOREVER_S, observe=calls)
        try:
            return list(
                await asyncio.gather(
                    batchers.predict(iris, iris_rows[0]),
                    batchers.predict(wine, wine_rows[0]),
                    batchers.predict(iris, iris_rows[1]),
                    batchers.predict(wine, wine_rows[1]),
                )
            )
        finally:
            await batchers.close()

    results = run(scenario())
    assert sorted(calls.calls) == [(2, 2), (2, 2)]
    assert results[1].predictions == wine.predict(wine_rows[0]).predictions
    assert results[2].predictions == iris.predict(iris_rows[1]).predictions


def test_rows_gathered_by_their_client_do_not_wait_for_companions(iris: LoadedModel) -> None:
    """The items of a batch request were batched by their client: their batch closes at once,
    taking the single requests queued with it, however long the delay."""
    calls = Calls()
    singles = rows("iris", 3)

    async def scenario() -> list[PredictionResult]:
        batcher = ModelBatcher(
            iris, max_batch_size=64, max_delay_s=FOREVER_S, executor=model_executor(), observe=calls
        )
        try:
            waiting = [asyncio.ensure_future(batcher.predict(x)) for x in singles[:2]]
            gathered = batcher.predict(singles[2], gathered=True)
            # Bounded well under the delay: a batch that waited for it would time out here.
            async with asyncio.timeout(TEST_TIMEOUT_S / 2):
                return await asyncio.gather(*waiting, gathered)
        finally:
            await batcher.close()

    results = run(scenario())
    assert calls.calls == [(3, 3)]
    assert [r.predictions[0] for r in results] == [iris.predict(x).predictions[0] for x in singles]


def test_adaptive_requests_queued_during_a_call_share_the_next(iris: LoadedModel) -> None:
    """Adaptive: the first request's call runs (held here behind a blocked worker thread); the
    five that arrive meanwhile go together in the next call, then each gets its own rows."""
    calls = Calls()
    singles = rows("iris", 6)
    gate = threading.Event()

    async def scenario() -> list[PredictionResult]:
        executor = model_executor(threads=1)
        executor.submit(gate.wait, TEST_TIMEOUT_S)  # the only thread, busy until the gate opens
        batcher = ModelBatcher(
            iris,
            max_batch_size=64,
            max_delay_s=FOREVER_S,
            executor=executor,
            observe=calls,
            adaptive=True,
        )
        try:
            first = asyncio.ensure_future(batcher.predict(singles[0]))
            while batcher._task is None or batcher._queue:  # until the first batch is taken
                await asyncio.sleep(0)
            rest = [asyncio.ensure_future(batcher.predict(x)) for x in singles[1:]]
            await asyncio.sleep(0)
            gate.set()
            return await asyncio.gather(first, *rest)
        finally:
            await batcher.close()
            executor.shutdown(wait=False)

    results = run(scenario())
    assert calls.calls == [(1, 1), (5, 5)]
    assert [r.predictions[0] for r in results] == [iris.predict(x).predictions[0] for x in singles]


@pytest.mark.parametrize(("inline_max_s", "inline"), [(10.0, True), (0.0, False)])
def test_a_cheap_model_runs_on_the_event_loop_after_its_first_call(
    iris: LoadedModel, inline_max_s: float, inline: bool
) -> None:
    """The first call (cost unknown) runs in a worker thread; once measured under
    `inline_max_s`, calls run on the event loop thread, with the same results."""
    singles = rows("iris", 3)

    async def scenario() -> tuple[list[PredictionResult], list[bool]]:
        batchers = Batchers(
            enabled=True,
            max_batch_size=64,
            max_delay_s=FOREVER_S,
            adaptive=True,
            inline_max_s=inline_max_s,
        )
        caller = batchers.caller(iris)
        modes = []
        results = []
        try:
            for x in singles:
                modes.append(caller.inline)
                results.append(await batchers.predict(iris, x))
            return results, modes
        finally:
            await batchers.close()

    results, modes = run(scenario())
    assert modes == [False, inline, inline]
    assert [r.predictions for r in results] == [iris.predict(x).predictions for x in singles]
