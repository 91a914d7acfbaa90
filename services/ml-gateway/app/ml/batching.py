"""Micro-batching: concurrent prediction requests for one model run as one call.

Each model gets a `ModelBatcher`: requests put their (already validated) rows in its queue and
wait; one task per model takes what is queued and runs one model call for all of it, then gives
every request its own slice of the result. Requests are never split; one larger than
`max_batch_size` runs alone. A batch closes:

- adaptive (the default): as soon as the model is free and requests have stopped arriving:
  the batch takes what is queued once two turns of the event loop in a row queued nothing more
  (no timer: a lone request goes after those two turns, microseconds). Requests that arrive
  while a call runs queue up and go together in the next call. Batches are as large as the
  concurrency actually is, and no request waits longer than the call in progress plus the
  arrivals around it (and `max_batch_size` bounds a batch).
- fixed delay (`adaptive=False`): when it holds `max_batch_size` instances or when its oldest
  request has waited `max_delay_s` (counted from when that request was queued, as Triton's
  `max_queue_delay`); a lone request on an idle model waits `max_delay_s`.

Where a call runs: scikit-learn's cost per call of a small model is mostly Python (input checks,
pipeline dispatch) holding the GIL, so a worker thread gives it no parallelism, only a hand-off
(a thread wake-up, then the event loop's own wake-up) and GIL contention with the loop. A model
whose calls have cost at most `inline_max_s` of CPU (a moving average of the calls so far, per
model) therefore runs on the event loop thread; slower ones, and every model until its first call
was measured, run in a worker thread so the loop keeps serving meanwhile.

When the combined call fails on input (an estimator's ValueError for one request's values), each
request of the batch runs again on its own, so only the bad one fails.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import sklearn

from app.ml.model import FloatArray, InvalidInputError, LoadedModel, PredictionResult

logger = logging.getLogger(__name__)

#: Called after each model call with (model name, instances, requests).
BatchObserver = Callable[[str, int, int], None]
#: Threads running model calls (one call at a time per model when batching).
MODEL_THREADS = 4
#: Weight of the latest call in a model's moving average of CPU time per call.
COST_EWMA_WEIGHT = 0.2


#: Threads whose scikit-learn settings `_model_thread_config` set (worker threads, and the
#: event loop thread once a model call ran there).
_configured_threads: set[int] = set()


def _model_thread_config() -> None:
    """scikit-learn's settings are per thread: model threads skip its per-call scan for
    NaN/inf, since every row reaching a batcher was checked to be finite already."""
    sklearn.set_config(assume_finite=True)
    _configured_threads.add(threading.get_ident())


def model_executor(threads: int = MODEL_THREADS) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=threads, thread_name_prefix="model", initializer=_model_thread_config
    )


class ModelCaller:
    """Runs one model's calls on the event loop thread or in a worker thread, by their cost.

    The cost of a call is the CPU time of the thread that ran it (`time.thread_time`: time
    spent waiting for the GIL does not count), averaged over the calls so far. Unknown (no call
    yet) counts as slow.
    """

    __slots__ = ("_executor", "cost_s", "inline_max_s", "model")

    def __init__(self, model: LoadedModel, *, executor: Executor, inline_max_s: float) -> None:
        self.model = model
        self._executor = executor
        self.inline_max_s = inline_max_s
        #: Moving average of the CPU seconds of one call (None until the first call).
        self.cost_s: float | None = None

    @property
    def inline(self) -> bool:
        return self.cost_s is not None and self.cost_s <= self.inline_max_s

    def _timed(self, x: FloatArray) -> PredictionResult:
        started = time.thread_time()
        try:
            return self.model.predict(x)
        finally:
            spent = time.thread_time() - started
            cost = self.cost_s
            self.cost_s = spent if cost is None else cost + COST_EWMA_WEIGHT * (spent - cost)

    async def __call__(self, x: FloatArray) -> PredictionResult:
        if self.inline:
            if threading.get_ident() not in _configured_threads:
                _model_thread_config()
            return self._timed(x)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._timed, x)


@dataclass
class _Pending:
    x: FloatArray
    future: asyncio.Future[PredictionResult]
    queued_at: float = field(default=0.0)
    #: Gathered by its client already (an item of `POST /v1/predictions/batch`): its batch does
    #: not wait for companions.
    gathered: bool = False


def _slice(result: PredictionResult, start: int, stop: int) -> PredictionResult:
    return PredictionResult(
        predictions=result.predictions[start:stop],
        probabilities=None if result.probabilities is None else result.probabilities[start:stop],
    )


class ModelBatcher:
    """Gathers the requests of one model into batched calls (see the module docstring)."""

    def __init__(
        self,
        model: LoadedModel,
        *,
        max_batch_size: int,
        max_delay_s: float,
        executor: Executor,
        observe: BatchObserver | None = None,
        adaptive: bool = False,
        caller: ModelCaller | None = None,
    ) -> None:
        self.model = model
        self.max_batch_size = max_batch_size
        self.max_delay_s = max_delay_s
        self.adaptive = adaptive
        self._call = caller or ModelCaller(model, executor=executor, inline_max_s=0.0)
        self._observe = observe
        self._queue: deque[_Pending] = deque()
        self._queued_rows = 0
        self._queued_gathered = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def predict(self, x: FloatArray, *, gathered: bool = False) -> PredictionResult:
        """The model's result for the rows `x` (validated), computed in some batch. With
        `gathered` (rows its client batched already), the batch it joins closes without waiting
        for more: it takes what is queued at once."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name=f"batcher:{self.model.name}")
        pending = _Pending(x, loop.create_future(), loop.time(), gathered)
        self._queue.append(pending)
        self._queued_rows += x.shape[0]
        self._queued_gathered += gathered
        self._wakeup.set()
        return await pending.future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("ml-gateway is shutting down"))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            deadline = self._queue[0].queued_at + self.max_delay_s
            # Yield once, so that requests started in the same turn (the items of one batch
            # request, the requests read in one poll of the sockets) are all queued before the
            # batch is taken.
            await asyncio.sleep(0)
            while (
                not self.adaptive
                and self._queued_rows < self.max_batch_size
                and not self._queued_gathered
            ):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                try:
                    async with asyncio.timeout(remaining):
                        await self._wakeup.wait()
                except TimeoutError:
                    break
            if self.adaptive:
                # Requests keep arriving turn after turn while clients are answered: a socket
                # read in one turn reaches this queue in the next. Gather until two turns in a
                # row brought nothing (or the batch is full).
                quiet_turns = 0
                while quiet_turns < 2 and self._queued_rows < self.max_batch_size:
                    before = len(self._queue)
                    await asyncio.sleep(0)
                    quiet_turns = quiet_turns + 1 if len(self._queue) == before else 0
            batch = self._take()
            try:
                await self._execute(batch)
            except Exception as exc:  # a bug, not bad input: fail this batch, keep serving
                logger.exception("batch of model %s failed", self.model.name)
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)

    def _take(self) -> list[_Pending]:
        """The oldest requests, up to max_batch_size instances (at least one request)."""
        batch = [self._queue.popleft()]
        rows = batch[0].x.shape[0]
        while self._queue and rows + self._queue[0].x.shape[0] <= self.max_batch_size:
            pending = self._queue.popleft()
            batch.append(pending)
            rows += pending.x.shape[0]
        self._queued_rows -= rows
        self._queued_gathered -= sum(p.gathered for p in batch)
        return batch

    async def _execute(self, batch: Sequence[_Pending]) -> None:
        live = [p for p in batch if not p.future.cancelled()]
        if not live:
            return
        x = live[0].x if len(live) == 1 else np.concatenate([p.x for p in live])
        try:
            result = await self._call(x)
        except InvalidInputError as exc:
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            await self._execute_one_by_one(live)
            return
        if self._observe is not None:
            self._observe(self.model.name, x.shape[0], len(live))
        start = 0
        for pending in live:
            stop = start + pending.x.shape[0]
            if not pending.future.done():
                pending.future.set_result(_slice(result, start, stop))
            start = stop

    async def _execute_one_by_one(self, batch: Sequence[_Pending]) -> None:
        for pending in batch:
            try:
                result = await self._call(pending.x)
            except InvalidInputError as exc:
                if not pending.future.done():
                    pending.future.set_exception(exc)
                continue
            if self._observe is not None:
                self._observe(self.model.name, pending.x.shape[0], 1)
            if not pending.future.done():
                pending.future.set_result(result)


class Batchers:
    """One `ModelBatcher` per model, created on first use; or direct calls when disabled."""

    def __init__(
        self,
        *,
        enabled: bool,
        max_batch_size: int,
        max_delay_s: float,
        adaptive: bool = False,
        inline_max_s: float = 0.0,
        executor: Executor | None = None,
        observe: BatchObserver | None = None,
    ) -> None:
        self.enabled = enabled
        self.max_batch_size = max_batch_size
        self.max_delay_s = max_delay_s
        self.adaptive = adaptive
        self.inline_max_s = inline_max_s
        self._own_executor = executor is None
        self._executor: Executor | None = executor
        self._observe = observe
        self._batchers: dict[str, ModelBatcher] = {}
        self._callers: dict[str, ModelCaller] = {}

    def _pool(self) -> Executor:
        if self._executor is None:
            self._executor = model_executor()
        return self._executor

    def caller(self, model: LoadedModel) -> ModelCaller:
        """The model's caller (and its measured cost per call), shared by its batcher."""
        caller = self._callers.get(model.name)
        if caller is None or caller.model is not model:
            caller = ModelCaller(model, executor=self._pool(), inline_max_s=self.inline_max_s)
            self._callers[model.name] = caller
        return caller

    async def predict(
        self, model: LoadedModel, x: FloatArray, *, gathered: bool = False
    ) -> PredictionResult:
        if not self.enabled:
            result = await self.caller(model)(x)
            if self._observe is not None:
                self._observe(model.name, x.shape[0], 1)
            return result
        batcher = self._batchers.get(model.name)
        if batcher is None:
            batcher = ModelBatcher(
                model,
                max_batch_size=self.max_batch_size,
                max_delay_s=self.max_delay_s,
                executor=self._pool(),
                observe=self._observe,
                adaptive=self.adaptive,
                caller=self.caller(model),
            )
            self._batchers[model.name] = batcher
        return await batcher.predict(x, gathered=gathered)

    async def close(self) -> None:
        for batcher in self._batchers.values():
            await batcher.close()
        self._batchers.clear()
        self._callers.clear()
        if self._own_executor and self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
