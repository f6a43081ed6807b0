"""One forward pass for the tiles of several concurrent requests (dynamic batching).

A GPU runs one 128² tile about as fast as eight: small requests leave it idle between
tiny kernels. When several threads upscale with the same model at once, each hands its
tile batch to `TileBatcher.submit`. One of them, the leader, takes every queued batch with
the same key (device, precision, tile shape) up to a pixel budget, runs them as one
`torch.cat`-ed pass, and hands each caller its own slice. The others wait; when the pass
ends, the next waiting caller leads. There is no extra thread: a lone caller runs its pass
itself, at once.

The leader waits up to `wait_s` for callers that are inside `upscale` but have not
submitted yet (they are stitching their previous batch) and whose last batch had the
leader's key (or who have none yet), so that concurrent requests line up instead of taking
turns, while a job with other tile shapes never makes it wait.

With `first_wait_s` (0 by default), a leader submitting its caller's first batch, that found
no pass running, also gathers a burst: it waits until nobody has arrived (entered `upscale` or
submitted) for `first_wait_s`, at most `max(wait_s, first_wait_s)` in all. Without it, the
first request of a burst runs alone while the rest are still entering `upscale`, and on a GPU
a pass of one small image costs nearly as much as a pass of eight. A lone request pays one
`first_wait_s`; bench/gpu.py measures the trade. A request that waited for a running pass
does not gather: others have queued behind that pass meanwhile. Nor does a pass of more than
`GATHER_MAX_PIXELS`: alone it already keeps a GPU busy, so company would save it nothing.

If a combined pass fails (out of memory, a device error), each batch in it is rerun alone,
so every caller gets its own result or its own exception and recovers as it would have alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

# On an H100, eight 128² windows take 0.23 µs per pixel and one 512² window 0.22: a lone pass of
# more than 128² runs about as efficiently as a shared one (bench/FINDINGS.md, GPU levers).
GATHER_MAX_PIXELS = 128 * 128
RunPass = Callable[[Hashable, torch.Tensor], torch.Tensor]  # (key, N-first batch) -> N-first outputs


@dataclass(eq=False)
class _Caller:
    last_key: Hashable | None = None  # key of its latest batch; None before the first
    queued: bool = False


@dataclass(eq=False)
class _Request:
    key: Hashable
    batch: torch.Tensor
    budget: int  # most input pixels a combined pass led by this request may hold; 0 = run alone
    caller: _Caller | None = None
    first: bool = False  # the caller's first batch (or one without a caller), and no pass was running
    result: torch.Tensor | None = None
    error: BaseException | None = None
    done: bool = False

    @property
    def pixels(self) -> int:
        return self.batch.shape[0] * self.batch.shape[2] * self.batch.shape[3]


@dataclass
class BatcherStats:
    passes: int = 0
    combined_passes: int = 0  # passes that held batches of more than one request
    batches: int = 0  # requests' batches served
    largest_pass: int = 0  # most tiles in one pass
    split_reruns: int = 0  # combined passes that failed and were rerun one batch at a time
    tiles_per_pass: list[int] = field(default_factory=list, repr=False)


class TileBatcher:
    def __init__(self, run_pass: RunPass, wait_s: float = 0.002, first_wait_s: float = 0.0) -> None:
        self._run_pass = run_pass
        self._wait_s = wait_s
        self.first_wait_s = first_wait_s
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._busy = False  # a leader is collecting or running a pass
        self._callers: set[_Caller] = set()  # callers inside `active()`: they may submit again soon
        self._local = threading.local()  # this thread's _Caller
        self._last_arrival = 0.0  # monotonic time a caller last entered `active` or submitted
        self.stats = BatcherStats()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Mark a caller that will submit batches (one upscale call)."""
        caller = _Caller()
        with self._cond:
            self._callers.add(caller)
            self._last_arrival = time.monotonic()
            self._cond.notify_all()  # a gathering leader may now wait for this caller
        self._local.caller = caller
        try:
            yield
        finally:
            self._local.caller = None
            with self._cond:
                self._callers.discard(caller)
                self._cond.notify_all()  # a leader may be waiting for this caller

    def submit(self, key: Hashable, batch: torch.Tensor, budget: int) -> torch.Tensor:
        """Run `batch` (N, C, h, w) through the pass for `key`, maybe with other callers' batches."""
        caller: _Caller | None = getattr(self._local, "caller", None)
        request = _Request(key, batch, budget, caller, first=caller is None or caller.last_key is None)
        with self._cond:
            if caller is not None:
                caller.last_key, caller.queued = key, True
            self._last_arrival = time.monotonic()
            self._queue.append(request)
            self._cond.notify_all()
            # A request that waited for a running pass has had company queue behind it: no gathering.
            request.first = request.first and not self._busy
            while not request.done and self._busy:
                self._cond.wait()
            if request.done:
                return self._outcome(request)
            self._busy = True
            try:
                group = self._collect(request)
            except BaseException:
                self._busy = False
                self._cond.notify_all()
                raise
        try:
            self._run_group(group)
        finally:
            with self._cond:
                for member in group:
                    if not member.done:  # only when the pass itself was interrupted
                        member.error = RuntimeError("the batched forward pass was interrupted")
                        self._mark_done(member)
                self._busy = False
                self._cond.notify_all()
        return self._outcome(request)

    # ---- the leader -------------------------------------------------------------------

    def _collect(self, leader: _Request) -> list[_Request]:
        """Take the leader's request and queued ones with its key, within its budget (lock held)."""
        if leader.budget > leader.pixels:
            gathering = leader.first and self.first_wait_s > 0 and leader.pixels <= GATHER_MAX_PIXELS
            deadline = time.monotonic() + (max(self._wait_s, self.first_wait_s) if gathering else self._wait_s)
            # Wait while there is room and an active caller that may bring this key has not
            # queued yet, or (gathering a burst) somebody arrived within the last first_wait_s.
            while self._pixels_like(leader) < leader.budget:
                if self._may_join(leader.key):
                    until = deadline
                elif gathering:
                    until = min(deadline, self._last_arrival + self.first_wait_s)
                else:
                    break
                if (left := until - time.monotonic()) <= 0:
                    break
                self._cond.wait(left)
        group = [leader]
        total = leader.pixels
        for other in self._queue:
            if other is leader or other.key != leader.key:
                continue
            if total + other.pixels > leader.budget:
                break
            group.append(other)
            total += other.pixels
        for member in group:
            self._queue.remove(member)
        return group

    def _may_join(self, key: Hashable) -> bool:
        return any(not c.queued and c.last_key in (None, key) for c in self._callers)

    def _pixels_like(self, leader: _Request) -> int:
        return sum(other.pixels for other in self._queue if other.key == leader.key)

    def _run_group(self, group: list[_Request]) -> None:
        """Run the group as one pass; on failure, rerun each batch alone (outside the lock)."""
        key = group[0].key
        sizes = [member.batch.shape[0] for member in group]
        self._count(sum(sizes), len(group))
        if len(group) == 1:
            self._run_alone(group[0])
            return
        try:
            outputs = self._run_pass(key, torch.cat([member.batch for member in group]))
        except Exception:  # noqa: BLE001 - each batch is rerun alone and gets its own outcome
            outputs = None
        if outputs is None:  # rerun outside the except block, so the failed pass's memory is free
            with self._cond:
                self.stats.split_reruns += 1
            for member in group:
                self._count(member.batch.shape[0], 1)
                self._run_alone(member)
            return
        start = 0
        for member, size in zip(group, sizes, strict=True):
            member.result = outputs[start : start + size]
            start += size
            self._finish(member)

    def _run_alone(self, request: _Request) -> None:
        try:
            request.result = self._run_pass(request.key, request.batch)
        except Exception as exc:  # noqa: BLE001 - handed to the caller that owns the batch
            request.error = exc
        self._finish(request)

    def _finish(self, request: _Request) -> None:
        with self._cond:
            self._mark_done(request)
            self._cond.notify_all()

    @staticmethod
    def _mark_done(request: _Request) -> None:  # lock held
        request.done = True
        if request.caller is not None:
            request.caller.queued = False

    def _count(self, tiles: int, requests: int) -> None:
        with self._cond:
            stats = self.stats
            stats.passes += 1
            stats.batches += requests
            stats.combined_passes += requests > 1
            stats.largest_pass = max(stats.largest_pass, tiles)
            if len(stats.tiles_per_pass) < 10_000:
                stats.tiles_per_pass.append(tiles)

    @staticmethod
    def _outcome(request: _Request) -> torch.Tensor:
        if request.error is not None:
            error, request.error = request.error, None
            try:
                raise error
            finally:
                # A local that holds the exception makes a cycle with its traceback (which holds
                # this frame), and the cycle keeps the failed pass's tensors alive until the
                # garbage collector runs: after an out-of-memory error, the retry would then run
                # with the failed attempt's device memory still allocated.
                del error
        assert request.result is not None
        return request.result
