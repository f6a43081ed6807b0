"""Tiles of concurrent requests sharing forward passes (models/batcher.py), on real weights and photos.

Sharing is on by default only on GPUs; these tests turn it on for the CPU
(BATCH_ACROSS_JOBS=on). A user cares that each request gets its own image, as if it had
run alone, and that one request's failure stays its own.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from skimage import data

from backend.models.manager import ModelManager
from backend.models.realesrgan_model import RealESRGANUpscaler, _to_host_uint8
from backend.settings import Settings

FAST = "realesr-animevideov3"


def _photos(count: int, size: int) -> list[np.ndarray]:
    """Distinct real photographs, cropped to one size."""
    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    return [np.ascontiguousarray(sources[i % 4][40 + 8 * i : 40 + 8 * i + size, 60 : 60 + size]) for i in range(count)]


def _sharing_upscaler(manager: ModelManager, make_settings: Callable[..., Settings], **overrides) -> RealESRGANUpscaler:
    settings = make_settings(device="cpu", batch_across_jobs="on", batch_wait_ms=200, **overrides)
    return RealESRGANUpscaler(FAST, manager.get(FAST).descriptor, settings, manager.device)


def _run_together(upscaler: RealESRGANUpscaler, images: list[np.ndarray], **kwargs) -> list:
    """Start every upscale at the same moment; each result is the output or the exception."""
    start = threading.Barrier(len(images))

    def one(image: np.ndarray):
        start.wait()
        try:
            return upscaler.upscale(image, **kwargs)
        except Exception as exc:  # noqa: BLE001 - returned for the test to inspect
            return exc

    with ThreadPoolExecutor(len(images)) as pool:
        return list(pool.map(one, images))


def _assert_same_image(shared: np.ndarray, alone: np.ndarray) -> None:
    # A batch of N and N batches of 1 may round a float differently (another conv algorithm);
    # the uint8 images must still agree to one level, nearly everywhere exactly.
    assert shared.shape == alone.shape
    difference = np.abs(shared.astype(np.int16) - alone.astype(np.int16))
    assert difference.max() <= 1
    assert (difference == 0).mean() > 0.999


def _record_passes(upscaler: RealESRGANUpscaler) -> list[tuple[int, ...]]:
    shapes: list[tuple[int, ...]] = []
    real_run = upscaler._run_model

    def recording(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(batch.shape))
        return real_run(model, batch)

    upscaler._run_model = recording  # type: ignore[method-assign]
    return shapes


def test_concurrent_tiled_requests_share_passes_and_get_their_own_image(
    manager: ModelManager, make_settings: Callable[..., Settings]
) -> None:
    # 144² at TILE=32, TILE_PAD=8: four rows of four 48² windows per request, a batch per row
    # (an image that fits in one batch of windows would run whole); two requests' rows fit a pass.
    upscaler = _sharing_upscaler(manager, make_settings, tile=32, tile_pad=8, tile_batch=8)
    images = _photos(4, 144)
    assert upscaler.count_tiles(144, 144) == 16
    alone = [upscaler.upscale(image) for image in images]  # one at a time: nothing to share
    assert upscaler.batch_stats.combined_passes == 0

    together = _run_together(upscaler, images)
    for shared, own in zip(together, alone, strict=True):
        assert isinstance(shared, np.ndarray), shared
        _assert_same_image(shared, own)
    assert upscaler.batch_stats.combined_passes >= 1
    assert upscaler.batch_stats.largest_pass == 8


def test_small_whole_image_requests_run_as_one_pass(
    manager: ModelManager, make_settings: Callable[..., Settings]
) -> None:
    """The GPU throughput case: many small single-window requests, one forward pass."""
    upscaler = _sharing_upscaler(manager, make_settings, tile=400, tile_batch=4)
    images = _photos(4, 48)
    alone = [upscaler.upscale(image) for image in images]
    passes = _record_passes(upscaler)
    together = _run_together(upscaler, images)
    for shared, own in zip(together, alone, strict=True):
        _assert_same_image(shared, own)
    assert len(passes) < len(images)  # the leader waited for the others' tiles
    assert max(shape[0] for shape in passes) >= 2


def test_a_shared_pass_hands_back_the_pixels_each_request_would_quantise_itself(
    manager: ModelManager, make_settings: Callable[..., Settings]
) -> None:
    """Whole 8-bit images come back from the shared pass finished (quantised, on the host, one
    copy per pass); the same requests quantising their own float outputs give the same bits."""
    images = _photos(4, 40)
    results = {}
    for finished in (True, False):
        upscaler = _sharing_upscaler(manager, make_settings, tile=400, tile_batch=4)
        upscaler.finished_passes = finished
        passes = _record_passes(upscaler)
        results[finished] = _run_together(upscaler, images)
        assert max(shape[0] for shape in passes) >= 2  # they did share passes
    for finished, own in zip(results[True], results[False], strict=True):
        assert finished.dtype == np.uint8
        _assert_same_image(finished, own)  # passes may group differently from run to run
    # The quantisation itself is the same arithmetic, to the bit, ties included.
    floats = torch.rand(3, 3, 17, 23)
    floats[0, 0, 0, :4] = torch.tensor([0.5 / 255, 1.5 / 255, 254.5 / 255, 1.0])
    canvas = np.zeros((3, 17, 23, 3), dtype=np.uint8)
    for index in range(3):
        RealESRGANUpscaler._flush(floats[index], canvas[index], 0, 255.0)
    np.testing.assert_array_equal(_to_host_uint8(floats.clone()).numpy(), canvas)


def test_different_tile_shapes_are_never_mixed(manager: ModelManager, make_settings: Callable[..., Settings]) -> None:
    upscaler = _sharing_upscaler(manager, make_settings, tile=0)
    images = [_photos(1, 40)[0], _photos(1, 56)[0][:, :44]]
    alone = [upscaler.upscale(image) for image in images]
    passes = _record_passes(upscaler)
    together = _run_together(upscaler, images)
    for shared, own in zip(together, alone, strict=True):
        assert np.array_equal(shared, own)
    assert all(shape[0] == 1 for shape in passes)


def test_a_failed_shared_pass_is_rerun_per_request(
    manager: ModelManager, make_settings: Callable[..., Settings]
) -> None:
    """Out of memory with the combined batch: each request's own batch still fits."""
    upscaler = _sharing_upscaler(manager, make_settings, tile=400, tile_batch=4)
    images = _photos(3, 40)
    alone = [upscaler.upscale(image) for image in images]
    real_run = upscaler._run_model

    def one_image_fits(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_run(model, batch)

    upscaler._run_model = one_image_fits  # type: ignore[method-assign]
    together = _run_together(upscaler, images)
    for shared, own in zip(together, alone, strict=True):
        assert np.array_equal(shared, own)
    assert upscaler.batch_stats.split_reruns >= 1


def test_a_failed_shared_pass_frees_its_memory_before_the_reruns(
    manager: ModelManager, make_settings: Callable[..., Settings]
) -> None:
    """The reruns must not start while the failed combined pass still holds its tensors (on a
    GPU that memory is what the reruns need). gc is off: only reference counting may free them."""
    upscaler = _sharing_upscaler(manager, make_settings, tile=400, tile_batch=4)
    real_run = upscaler._run_model
    failed_pass_memory: list[weakref.ref] = []
    alive_at_rerun: list[bool] = []

    def one_image_fits(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if batch.shape[0] > 1:
            working = torch.empty(1_000_000)  # stands for the activations of the failed pass
            failed_pass_memory.append(weakref.ref(working))
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        alive_at_rerun.extend(ref() is not None for ref in failed_pass_memory)
        return real_run(model, batch)

    upscaler._run_model = one_image_fits  # type: ignore[method-assign]
    gc.disable()
    try:
        _run_together(upscaler, _photos(3, 40))
    finally:
        gc.enable()
    assert failed_pass_memory and alive_at_rerun
    assert not any(alive_at_rerun)


def test_one_requests_failure_stays_its_own(manager: ModelManager, make_settings: Callable[..., Settings]) -> None:
    upscaler = _sharing_upscaler(manager, make_settings, tile=400, tile_batch=4)
    images = _photos(3, 40)
    images[1] = np.zeros_like(images[1])  # the poisoned one
    alone = {index: upscaler.upscale(images[index]) for index in (0, 2)}
    real_run = upscaler._run_model

    def rejects_black(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if bool((batch.flatten(1).amax(dim=1) == 0).any()):
            raise ValueError("a bug that only this image triggers")
        return real_run(model, batch)

    upscaler._run_model = rejects_black  # type: ignore[method-assign]
    together = _run_together(upscaler, images)
    assert isinstance(together[1], ValueError)
    for index in (0, 2):  # rerun alone, or shared with each other when the poisoned one came late
        _assert_same_image(together[index], alone[index])


@pytest.mark.parametrize("sharing", ["auto", "off"])
def test_no_sharing_on_the_cpu_unless_asked(
    manager: ModelManager, make_settings: Callable[..., Settings], sharing: str
) -> None:
    settings = make_settings(device="cpu", batch_across_jobs=sharing, batch_wait_ms=200, tile=0)
    upscaler = RealESRGANUpscaler(FAST, manager.get(FAST).descriptor, settings, manager.device)
    passes = _record_passes(upscaler)
    _run_together(upscaler, _photos(3, 40))
    assert [shape[0] for shape in passes] == [1, 1, 1]


def test_a_gpu_that_dies_under_shared_passes_sends_every_request_to_the_cpu(
    manager: ModelManager, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sharing is on by default on a GPU; when the device fails, each request still completes."""
    from backend.models.devices import DeviceInfo

    monkeypatch.setattr(DeviceInfo, "torch_device", property(lambda self: torch.device("cpu")))
    settings = make_settings(batch_wait_ms=200, tile=0)  # BATCH_ACROSS_JOBS=auto
    gpu = DeviceInfo("cuda", "fake cuda", torch.__version__, 0)
    upscaler = RealESRGANUpscaler(FAST, manager.get(FAST).descriptor, settings, gpu)
    assert upscaler.precision == "fp16"
    real_run = upscaler._run_model

    def dead_gpu(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if batch.dtype == torch.float16:  # only the "GPU" path runs in half precision
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real_run(model, batch)

    upscaler._run_model = dead_gpu  # type: ignore[method-assign]
    images = _photos(3, 40)
    together = _run_together(upscaler, images)
    assert upscaler.device.type == "cpu"
    for shared, image in zip(together, images, strict=True):
        assert isinstance(shared, np.ndarray), shared
        _assert_same_image(shared, manager.get(FAST).upscale(image, tile=0))


def _fake_batcher(wait_s: float):
    from backend.models.batcher import TileBatcher

    passes: list[int] = []

    def run_pass(key, batch: torch.Tensor) -> torch.Tensor:
        passes.append(batch.shape[0])
        return batch * 2

    return TileBatcher(run_pass, wait_s=wait_s), passes


def test_a_leader_waits_for_a_running_job_with_its_tile_shape() -> None:
    batcher, passes = _fake_batcher(wait_s=5.0)
    first_done, second_ready = threading.Event(), threading.Event()

    def other_job() -> None:
        with batcher.active():
            batcher.submit("A", torch.ones(1, 3, 4, 4), budget=10**6)
            first_done.set()
            second_ready.wait(5)
            batcher.submit("A", torch.ones(1, 3, 4, 4), budget=10**6)

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(other_job)
        first_done.wait(5)
        passes.clear()
        with batcher.active():
            threading.Timer(0.2, second_ready.set).start()
            out = batcher.submit("A", torch.full((1, 3, 4, 4), 3.0), budget=10**6)
        future.result()
    assert torch.equal(out, torch.full((1, 3, 4, 4), 6.0))
    assert passes == [2]  # the leader waited 0.2 s for the other job's tile: one pass for both


@pytest.mark.parametrize("first_wait_s", [0.0, 2.0])
def test_a_first_wait_lets_a_burst_share_its_first_pass(first_wait_s: float) -> None:
    """The first request of a burst finds nobody else in `upscale` yet: by default it runs at
    once, alone; with a first wait it waits for the next arrival and they share a pass."""
    batcher, passes = _fake_batcher(wait_s=0.5)
    batcher.first_wait_s = first_wait_s

    def late_arrival() -> torch.Tensor:
        with batcher.active():
            return batcher.submit("A", torch.ones(1, 3, 4, 4), budget=10**6)

    results: list = []
    with ThreadPoolExecutor(1) as pool, batcher.active():
        timer = threading.Timer(0.2, lambda: results.append(pool.submit(late_arrival)))
        timer.start()
        out = batcher.submit("A", torch.full((1, 3, 4, 4), 3.0), budget=10**6)
        timer.join()
        late = results[0].result()
    assert torch.equal(out, torch.full((1, 3, 4, 4), 6.0))
    assert torch.equal(late, torch.full((1, 3, 4, 4), 2.0))
    assert passes == ([1, 1] if first_wait_s == 0 else [2])


def test_a_first_wait_gathers_a_burst_whose_arrivals_keep_coming() -> None:
    """Arrivals 0.1 s apart, a first wait of 0.3 s: the leader keeps waiting while they come, and
    all four share one pass (the old rule stopped at the second arrival: passes [2, 1, 1])."""
    batcher, passes = _fake_batcher(wait_s=2.0)
    batcher.first_wait_s = 0.3

    def arrival(delay: float) -> torch.Tensor:
        time.sleep(delay)
        with batcher.active():
            return batcher.submit("A", torch.ones(1, 3, 4, 4), budget=10**6)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(arrival, [0.0, 0.1, 0.2, 0.3]))
    assert passes == [4]
    assert all(torch.equal(out, torch.full((1, 3, 4, 4), 2.0)) for out in results)


def test_a_first_wait_stops_at_its_cap_and_is_not_paid_after_a_running_pass() -> None:
    """Arrivals that never stop: the gathering leader goes at max(wait_s, first_wait_s). The
    requests that queued behind that pass lead the next one at once, without gathering."""
    batcher, passes = _fake_batcher(wait_s=0.0)
    batcher.first_wait_s = 0.25
    starts: list[float] = []
    original = batcher._run_pass

    def timed(key, batch: torch.Tensor) -> torch.Tensor:
        starts.append(time.monotonic())
        time.sleep(0.2)  # a pass long enough for the late arrivals to queue behind it
        return original(key, batch)

    batcher._run_pass = timed

    def arrival(delay: float) -> torch.Tensor:
        time.sleep(delay)
        with batcher.active():
            return batcher.submit("A", torch.ones(1, 3, 4, 4), budget=10**6)

    begin = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(arrival, [0.0, 0.1, 0.2, 0.3, 0.35]))
    assert starts[0] - begin == pytest.approx(0.25, abs=0.08)  # the cap, though arrivals went on
    assert passes == [3, 2]
    assert starts[1] - starts[0] == pytest.approx(0.2, abs=0.08)  # no 0.25 s gathering again


def test_a_pass_that_fills_a_gpu_alone_does_not_gather() -> None:
    """A lone 512² request (past GATHER_MAX_PIXELS) runs at once, whatever BATCH_FIRST_WAIT_MS."""
    batcher, passes = _fake_batcher(wait_s=0.0)
    batcher.first_wait_s = 1.0
    with batcher.active():
        begin = time.monotonic()
        batcher.submit("A", torch.ones(1, 3, 512, 512), budget=10**7)
        big = time.monotonic() - begin
    with batcher.active():
        begin = time.monotonic()
        batcher.submit("B", torch.ones(1, 3, 64, 64), budget=10**7)
        small = time.monotonic() - begin
    assert big < 0.5 < small  # the small one gathered for its full second
    assert passes == [1, 1]


def test_a_job_with_other_tile_shapes_never_makes_a_leader_wait() -> None:
    import time

    batcher, passes = _fake_batcher(wait_s=5.0)
    first_done, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with batcher.active():  # stays active, stitching, with tiles of another shape
            batcher.submit("B", torch.ones(1, 3, 8, 8), budget=10**6)
            first_done.set()
            release.wait(10)

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(other_job)
        first_done.wait(5)
        started = time.monotonic()
        with batcher.active():
            batcher.submit("A", torch.ones(1, 3, 4, 4), budget=10**6)
        waited = time.monotonic() - started
        release.set()
        future.result()
    assert waited < 1.0
