"""A bounded queue in front of `JOB_CONCURRENCY` worker threads (1 on the CPU, 4 on a GPU).

Workers that run at once share forward passes of same-shape tiles (models/batcher.py).
Inference never runs on the event loop: handlers `submit` a job and wait for its
completion callback. When the queue is full, `submit` raises `QueueFull` (503 with
Retry-After) instead of piling up work; an upload holds a place (`reserve`) before it is read
and decoded, so a burst of uploads is refused before it costs memory. A cancelled job leaves the
queue at once, and a running one stops at its next tile batch.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from backend.errors import Cancelled, RetryLater, UpscaleError, UserError
from backend.service.jobs import Job

log = logging.getLogger(__name__)

Runner = Callable[[Job], None]  # does the work; calls job.succeed(...) or raises
Listener = Callable[[Job], None]
_JOIN_GRACE_SECONDS = 5.0  # after the shutdown deadline, how long running jobs get to notice their cancel


class QueueFull(RetryLater):
    code = "queue_full"


class ShuttingDown(RetryLater):
    code = "shutting_down"

    def __init__(self) -> None:
        super().__init__("the service is shutting down; retry on another replica", retry_after=5)


class InternalJobError(UpscaleError):
    """What a waiting client sees when a job hit a bug: no internals, just the code."""

    code = "internal_error"
    status = 500


class Slot:
    """A place in the queue held by `Scheduler.reserve`; given back at the end of its `with`
    block unless `Scheduler.submit` used it."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self.held = True

    def release(self) -> None:
        self._scheduler._release(self)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Scheduler:
    def __init__(self, runner: Runner, *, queue_size: int, workers: int = 1) -> None:
        self._runner = runner
        self._queue_size = queue_size
        self._workers_wanted = workers
        self._pending: deque[Job] = deque()
        self._reserved = 0  # places held by uploads being read and decoded (see `reserve`)
        self._running: set[Job] = set()
        self._cond = threading.Condition()
        self._accepting = True
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._avg_seconds = 5.0  # moving average of job run time, for Retry-After
        self._listeners: list[Listener] = []

    # --- lifecycle ---

    def start(self) -> None:
        for index in range(self._workers_wanted):
            thread = threading.Thread(target=self._work, name=f"upscale-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop_accepting(self) -> None:
        """New submissions get ShuttingDown (503) from now on; queued and running jobs go on."""
        with self._cond:
            self._accepting = False

    def stop(self, timeout: float) -> None:
        """Stop accepting; let queued and running jobs finish within `timeout`, then cancel the rest."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._accepting = False
            while (self._pending or self._running) and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(min(left, 0.5))
            queued, running = list(self._pending), list(self._running)
            self._pending.clear()
            self._stopping = True
            self._cond.notify_all()
        for job in queued + running:
            log.warning("cancelling job %s at shutdown", job.id)
            job.request_cancel()
        # Only jobs still in the queue end here. A running one belongs to its worker, which ends
        # and reports it, even one taken off the queue a moment ago whose state still says `queued`
        # (reporting it here too counted it twice in the metrics).
        for job in queued:
            self._cancelled_before_running(job)
        # A running job stops at its next tile batch; don't let a stuck one hold the exit for long.
        join_until = time.monotonic() + _JOIN_GRACE_SECONDS
        for thread in self._threads:
            thread.join(timeout=max(0.0, join_until - time.monotonic()))

    def add_listener(self, listener: Listener) -> None:
        """Called from the worker thread after each job ends (metrics)."""
        self._listeners.append(listener)

    # --- for handlers ---

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def depth(self) -> int:
        return len(self._pending)

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def capacity(self) -> int:
        return self._queue_size

    @property
    def workers(self) -> int:
        return self._workers_wanted

    @property
    def reserved(self) -> int:
        return self._reserved

    def reserve(self) -> Slot:
        """Hold a place in the queue for an upload about to be read and decoded, or raise what
        `submit` would. Held places count as queued, so at most `queue_size` uploads are read and
        decoded at once beyond the running jobs; `submit(job, slot)` turns the place into the job's,
        and a slot left unused is given back when its `with` block ends."""
        with self._cond:
            self._check_room()
            self._reserved += 1
        return Slot(self)

    def _release(self, slot: Slot) -> None:
        with self._cond:
            if slot.held:
                slot.held = False
                self._reserved -= 1

    def submit(self, job: Job, slot: Slot | None = None) -> None:
        """Queue the job, in the place `slot` holds if given (still refused while shutting down)."""
        with self._cond:
            if slot is not None and slot.held:
                if not self._accepting:
                    raise ShuttingDown()
                slot.held = False
                self._reserved -= 1
            else:
                self._check_room()
            self._pending.append(job)
            self._cond.notify()

    def check_room(self) -> None:
        """Raise what `submit` would raise now; lets handlers fail fast before decoding."""
        with self._cond:
            self._check_room()

    def _check_room(self) -> None:
        if not self._accepting:
            raise ShuttingDown()
        if len(self._pending) + self._reserved >= self._queue_size:
            raise QueueFull(f"the queue is full ({self._queue_size} jobs waiting); retry later", self._retry_after())

    def position(self, job: Job) -> int | None:
        """0-based place in the queue, None once it left the queue."""
        with self._cond:
            try:
                return self._pending.index(job)
            except ValueError:
                return None

    def cancel(self, job: Job) -> None:
        """Free the job's place now if it waits; stop it at its next tile batch if it runs."""
        job.request_cancel()
        with self._cond:
            try:
                self._pending.remove(job)
            except ValueError:
                return
            self._cond.notify_all()
        self._cancelled_before_running(job)

    def _cancelled_before_running(self, job: Job) -> None:
        job.mark_cancelled()
        self._notify(job)  # so metrics count it like a job cancelled while running

    # --- worker ---

    def _retry_after(self) -> int:
        waiting = len(self._pending) + self._reserved + len(self._running)
        return max(1, min(300, math.ceil(self._avg_seconds * waiting / max(self._workers_wanted, 1))))

    def _next(self) -> Job | None:
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if self._stopping and not self._pending:
                return None
            job = self._pending.popleft()
            self._running.add(job)
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            started = time.monotonic()
            try:
                self._run(job)
            except BaseException:  # never let one job kill the worker and hang the queue
                log.exception("worker error on job %s", job.id)
                job.fail(InternalJobError("internal error"), InternalJobError.code, "internal error")
            finally:
                with self._cond:
                    self._running.discard(job)
                    self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * (time.monotonic() - started)
                    self._cond.notify_all()
            self._notify(job)

    def _notify(self, job: Job) -> None:
        for listener in self._listeners:
            try:
                listener(job)
            except Exception:  # a metrics bug must not kill the worker
                log.exception("job listener failed")

    def _run(self, job: Job) -> None:
        if job.is_cancelled() or not job.mark_running():
            job.mark_cancelled()
            return
        try:
            self._runner(job)
        except Cancelled:
            job.mark_cancelled()
        except UserError as exc:
            job.fail(exc, exc.code, exc.message)
        except UpscaleError as exc:
            log.error("job %s failed: %s", job.id, exc.message)
            job.fail(exc, exc.code, exc.message)
        except Exception:
            log.exception("job %s crashed", job.id)
            job.fail(InternalJobError("internal error"), InternalJobError.code, "internal error")
        else:
            if job.is_cancelled() and not job.state.terminal:
                job.mark_cancelled()
