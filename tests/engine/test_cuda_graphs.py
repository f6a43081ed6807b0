"""CUDA_GRAPHS: which passes are replayed from a graph, and that replays give the eager result.

No GPU here: the capture is stood in for by a function with a graph's contract (a static input
copied in, the same forward, the output copied out), so these tests check the policy and the
engine's plumbing; the real capture and its speed are checked on a GPU by bench/gpu.py.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pytest
import torch
from skimage import data

from backend.models import realesrgan_model
from backend.models.cuda_graphs import GraphedForward, padded_example
from backend.models.devices import DeviceInfo
from backend.models.manager import ModelManager
from backend.models.realesrgan_model import RealESRGANUpscaler
from backend.settings import Settings

FAST = "realesr-animevideov3"


class FakeCapture:
    """Records captures; the replay runs the forward on a static input, as a graph would."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []
        self.replays = 0

    def __call__(self, forward: Callable, example: torch.Tensor, pool: object) -> Callable:
        self.shapes.append(tuple(example.shape))
        static_input = example.clone()

        def replay(batch: torch.Tensor) -> torch.Tensor:
            self.replays += 1
            count = batch.shape[0]
            static_input[:count].copy_(batch)
            return forward(static_input)[:count].clone()

        return replay


def _graphed(capture: Callable, **kwargs: object) -> GraphedForward:
    return GraphedForward(lambda x: x * 2, capture=capture, new_pool=object, device_types=("cpu",), **kwargs)


def test_a_shape_is_captured_the_second_time_and_replayed_after() -> None:
    capture = FakeCapture()
    graphed = _graphed(capture)
    batch = torch.rand(2, 3, 16, 16)
    for _ in range(4):
        torch.testing.assert_close(graphed(batch), batch * 2)
    assert capture.shapes == [(2, 3, 16, 16)]
    assert capture.replays == 3 and graphed.graph_count == 1


def test_window_counts_run_as_powers_of_two_captured_from_the_first_repeat_of_the_window() -> None:
    """Shared passes hold as many windows as requests came: 3 runs as 2 + 1, 5 as 4 + 1, 7 as
    4 + 2 + 1, so a burst meets at most a few new shapes, each replayed from its first use."""
    capture = FakeCapture()
    graphed = _graphed(capture, pad_pixels=0)
    graphed(torch.rand(1, 3, 16, 16))  # the window size's first pass: eager
    assert capture.shapes == []
    for count in (3, 5, 7, 6, 8):
        batch = torch.rand(count, 3, 16, 16)
        torch.testing.assert_close(graphed(batch), batch * 2)
    assert sorted(shape[0] for shape in capture.shapes) == [1, 2, 4, 8]
    graphed(torch.rand(2, 3, 16, 20))  # another window size: seen once, eager
    assert len(capture.shapes) == 4


@pytest.mark.parametrize(
    ("count", "graphs"),
    [(7, [8]), (6, [4, 2]), (5, [4, 1]), (3, [4]), (2, [2]), (8, [8])],
)
def test_a_pass_pads_to_the_next_power_of_two_when_that_saves_replays_for_little_padding(
    count: int, graphs: list[int]
) -> None:
    """With one window's pixels allowed per replay saved: 7 -> 8 (saves two), 3 -> 4 (saves one);
    6 and 5 would pad more than they save. Padded windows' outputs are dropped."""
    capture = FakeCapture()
    graphed = _graphed(capture, pad_pixels=16 * 16)
    graphed(torch.rand(1, 3, 16, 16))  # first sighting: eager
    batch = torch.rand(count, 3, 16, 16)
    torch.testing.assert_close(graphed(batch), batch * 2)
    assert sorted((shape[0] for shape in capture.shapes), reverse=True) == graphs
    torch.testing.assert_close(graphed(batch), batch * 2)  # replayed, no new capture
    assert len(capture.shapes) == len(graphs)


def test_small_windows_pad_more_and_padding_stays_within_max_pixels() -> None:
    capture = FakeCapture()
    graphed = _graphed(capture, pad_pixels=4 * 8 * 8, max_pixels=6 * 8 * 8)
    graphed(torch.rand(1, 3, 8, 8))
    five = torch.rand(5, 3, 8, 8)
    torch.testing.assert_close(graphed(five), five * 2)  # 8 windows would pass max_pixels: 4 + 1
    three = torch.rand(3, 3, 8, 8)
    torch.testing.assert_close(graphed(three), three * 2)  # 4 fits: padded
    assert [shape[0] for shape in capture.shapes] == [4, 1]  # the graph for 4 served both


def test_a_padded_example_keeps_the_batch_layout() -> None:
    batch = torch.rand(3, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    example = padded_example(batch, 4)
    assert example.is_contiguous(memory_format=torch.channels_last)
    assert example.stride() == batch.stride()
    torch.testing.assert_close(example[:3], batch)
    assert not example[3].any()


def test_large_passes_and_other_devices_run_eager() -> None:
    capture = FakeCapture()
    graphed = _graphed(capture, max_pixels=16 * 16)
    for _ in range(3):
        graphed(torch.rand(2, 3, 16, 16))  # 512 px > 256
    assert capture.shapes == []
    cuda_only = GraphedForward(lambda x: x, capture=capture, new_pool=object)
    for _ in range(3):
        cuda_only(torch.rand(1, 3, 8, 8))  # a CPU tensor: never captured
    assert capture.shapes == []


def test_the_least_recently_used_graph_is_dropped() -> None:
    capture = FakeCapture()
    graphed = _graphed(capture, max_graphs=2)
    for size in (8, 9, 8, 10):
        graphed(torch.rand(1, 3, size, size))
        graphed(torch.rand(1, 3, size, size))
    assert graphed.graph_count == 2
    graphed(torch.rand(1, 3, 8, 8))  # kept: 8 was used after 9
    graphed(torch.rand(1, 3, 9, 9))  # dropped: captured again
    assert capture.shapes == [(1, 3, 8, 8), (1, 3, 9, 9), (1, 3, 10, 10), (1, 3, 9, 9)]
    assert graphed.captures == 4 and graphed.graph_count == 2  # captures count the dropped ones too


def test_a_failed_capture_leaves_the_shape_eager(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def broken(forward: Callable, example: torch.Tensor, pool: object) -> Callable:
        calls.append(1)
        raise RuntimeError("operation not permitted when stream is capturing")

    graphed = _graphed(broken)
    batch = torch.rand(1, 3, 8, 8)
    for _ in range(4):
        torch.testing.assert_close(graphed(batch), batch * 2)
    assert calls == [1]
    assert "capture failed" in caplog.text


@pytest.fixture
def pretend_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DeviceInfo, "torch_device", property(lambda self: torch.device("cpu")))


def test_concurrent_small_requests_replayed_from_graphs_get_their_own_image(
    manager: ModelManager, make_settings: Callable[..., Settings], pretend_gpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU defaults (shared passes, graphs) on real weights and photos: same images as eager."""
    capture = FakeCapture()
    monkeypatch.setattr(
        realesrgan_model, "GraphedForward", partial(GraphedForward, capture=capture, device_types=("cpu",))
    )
    device = DeviceInfo("cuda", "fake cuda", torch.__version__, 0)

    def upscaler_with(cuda_graphs: str) -> RealESRGANUpscaler:
        settings = make_settings(precision="fp32", batch_wait_ms=200, cuda_graphs=cuda_graphs)
        return RealESRGANUpscaler(FAST, manager.get(FAST).descriptor, settings, device)

    upscaler, eager = upscaler_with("auto"), upscaler_with("off")
    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    images = [np.ascontiguousarray(source[100:148, 100:148]) for source in sources]
    expected = [eager.upscale(image) for image in images]
    assert capture.shapes == []
    for _ in range(3):
        for image, want in zip(images, expected, strict=True):
            np.testing.assert_array_equal(upscaler.upscale(image), want)
    # The first pass runs eager, the second is captured and replayed, every later one replayed.
    assert capture.shapes == [(1, 3, 48, 48)] and capture.replays == 3 * len(images) - 1
    with ThreadPoolExecutor(len(images)) as pool:
        for _ in range(3):
            results = list(pool.map(upscaler.upscale, images))
            for got, want in zip(results, expected, strict=True):
                assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert any(shape[0] > 1 for shape in capture.shapes)  # a shared pass's shape came back
