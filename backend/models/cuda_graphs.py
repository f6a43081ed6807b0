"""CUDA graphs for small forward passes (`CUDA_GRAPHS`; auto = on CUDA).

A small pass is bound by launching kernels, not by running them: RealESRGAN_x4plus at 128²
launches hundreds even compiled, and on an H100 a 128² request took 18 ms for about 6 ms of GPU
work; while other request threads run, each launch may also wait for the GIL. A CUDA graph,
captured once per pass shape, replays them all with one call: 6.4 ms (bench/FINDINGS.md).

- Only passes of at most `max_pixels` input pixels: larger ones keep the GPU busy anyway, and
  a graph keeps the working memory of its capture.
- A pass is captured once its window size has been seen before (with any number of windows),
  so a whole image of an odd size that comes once costs no capture, while the windows of one
  image, small images of one size, and the shared passes of concurrent requests are replayed
  from their first repeat.
- Window counts are powers of two: the count of a shared pass varies with the load, and each
  new count would cost a capture (on an H100, a capture for 8 windows in the middle of a burst
  made it 5x slower than sequential). A pass of 7 windows replays the graph for 8 with one
  window of padding, or the graphs for 4, 2 and 1: each replay has a fixed cost (about 3 ms for
  x4plus on an H100, at any window size) and each window a cost that grows with its pixels
  (0.45 ms at 64², 3.4 ms at 128²). So a pass pads when the padded pixels are at most
  `pad_pixels` per replay saved: small windows pad (64²: 5 -> 8), 128² windows only 7 -> 8
  and 3 -> 4.
- At most `max_graphs`, the least recently used dropped. They share one memory pool: the
  passes of one upscaler never overlap (the batcher runs one at a time), and each replay's
  output is copied out before it returns, so a later replay may reuse the memory.
- A capture that fails (an operation a graph cannot hold) logs a warning and leaves that shape
  eager.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

Forward = Callable[[torch.Tensor], torch.Tensor]
# (forward, an example batch, the shared pool) -> a function that runs a batch of that shape.
Capture = Callable[[Forward, torch.Tensor, object], Forward]

MAX_PIXELS = 8 * 128 * 128  # input pixels of the largest graphed pass (eight 128² requests)
MAX_GRAPHS = 16
PAD_PIXELS = 128 * 128  # padded input pixels worth one replay saved (fits H100 timings, above)
_WINDOWS_KEPT = 4096


def _powers_of_two(count: int) -> list[int]:
    """7 -> [4, 2, 1]: the binary parts of `count`, largest first."""
    return [1 << bit for bit in reversed(range(count.bit_length())) if count >> bit & 1]


def graph_counts(count: int, window_pixels: int, max_pixels: int, pad_pixels: int) -> list[int]:
    """The graphs a pass of `count` windows replays: its binary parts (7 -> [4, 2, 1]), or the
    next power of two with the rest padded (7 -> [8]) where the padding costs less than the
    replays it saves."""
    parts = _powers_of_two(count)
    padded = 1 << (count - 1).bit_length()
    padding = (padded - count) * window_pixels
    if len(parts) > 1 and padded * window_pixels <= max_pixels and padding <= pad_pixels * (len(parts) - 1):
        return [padded]
    return parts


def padded_example(batch: torch.Tensor, count: int) -> torch.Tensor:
    """`batch` followed by zero windows up to `count`, in the batch's memory format."""
    if count == batch.shape[0]:
        return batch
    channels_last = batch.dim() == 4 and batch.is_contiguous(memory_format=torch.channels_last)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    example = torch.zeros((count, *batch.shape[1:]), dtype=batch.dtype, device=batch.device)
    example = example.contiguous(memory_format=layout)
    example[: batch.shape[0]] = batch
    return example


def capture_cuda(forward: Forward, example: torch.Tensor, pool: object) -> Forward:
    """Capture `forward` on a static copy of `example`; the result copies in, replays, copies out.
    The replay takes up to as many windows as `example` has: the rest of the static input keeps
    earlier windows, whose outputs are not returned (windows of a batch never mix)."""
    static_input = example.clone()  # outside the graph's pool: never overwritten by a replay
    side = torch.cuda.Stream(device=example.device)
    side.wait_stream(torch.cuda.current_stream(example.device))
    with torch.cuda.stream(side):  # a warm-up on a side stream, as torch.cuda.graph's docs ask
        forward(static_input)
    torch.cuda.current_stream(example.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    # thread_local: other request threads may use the device (and other models) meanwhile.
    with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"):
        static_output = forward(static_input)

    def replay(batch: torch.Tensor) -> torch.Tensor:
        count = batch.shape[0]
        static_input[:count].copy_(batch)
        graph.replay()
        return static_output[:count].clone()

    return replay


def new_cuda_pool() -> object:
    return torch.cuda.graph_pool_handle()


class GraphedForward:
    """`forward(batch)`, replayed from a CUDA graph for small shapes seen before."""

    def __init__(
        self,
        forward: Forward,
        *,
        capture: Capture = capture_cuda,
        new_pool: Callable[[], object] = new_cuda_pool,
        max_pixels: int = MAX_PIXELS,
        max_graphs: int = MAX_GRAPHS,
        pad_pixels: int = PAD_PIXELS,
        device_types: tuple[str, ...] = ("cuda",),
    ) -> None:
        self._forward = forward
        self._capture = capture
        self._new_pool = new_pool
        self._pool: object | None = None
        self._max_pixels = max_pixels
        self._max_graphs = max_graphs
        self.pad_pixels = pad_pixels
        self._graphs: OrderedDict[tuple, Forward] = OrderedDict()
        self._windows_seen: set[tuple] = set()  # (C, h, w), dtype, device of earlier passes
        self._eager_only: set[tuple] = set()  # shapes whose capture failed
        self._device_types = device_types
        self._lock = threading.Lock()
        self.captures = 0  # graphs captured so far (graph_count: those still held)

    @property
    def graph_count(self) -> int:
        return len(self._graphs)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        small = batch.shape[0] * batch.shape[-2] * batch.shape[-1] <= self._max_pixels
        if not small or batch.device.type not in self._device_types:
            return self._forward(batch)
        with self._lock:
            window = (tuple(batch.shape[1:]), batch.dtype, str(batch.device))
            if window not in self._windows_seen:
                if len(self._windows_seen) >= _WINDOWS_KEPT:
                    self._windows_seen.clear()
                self._windows_seen.add(window)
                return self._forward(batch)
            window_pixels = batch.shape[-2] * batch.shape[-1]
            counts = graph_counts(batch.shape[0], window_pixels, self._max_pixels, self.pad_pixels)
            parts, start = [], 0
            for count in counts:
                part = batch[start : start + count]
                parts.append(self._replay(part, count))
                start += part.shape[0]
            return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _replay(self, batch: torch.Tensor, count: int) -> torch.Tensor:
        """`batch` through the graph for `count` windows, captured now if it is new (lock held)."""
        key = ((count, *batch.shape[1:]), tuple(batch.stride()), batch.dtype, str(batch.device))
        if key in self._eager_only:
            return self._forward(batch)
        replay = self._graphs.get(key)
        if replay is not None:
            self._graphs.move_to_end(key)
            return replay(batch)
        try:
            if self._pool is None:
                self._pool = self._new_pool()
            replay = self._capture(self._forward, padded_example(batch, count), self._pool)
        except Exception as exc:  # noqa: BLE001 - the shape runs eager from now on
            log.warning("CUDA graph capture failed for a %s pass (%s); running it eagerly", key[0], exc)
            self._eager_only.add(key)
            return self._forward(batch)
        self._graphs[key] = replay
        self.captures += 1
        if len(self._graphs) > self._max_graphs:
            self._graphs.popitem(last=False)
        return replay(batch)
