"""The tiled Real-ESRGAN upscaler (the guide's `backend/models/realesrgan_model.py`).

Tuning lives in settings (`TILE`, `TILE_PAD`, `FP16`, ...), not in this file; the guide's
recommendations map to them directly:

    tile=400       # TILE: core tile size (lower to 200-300 when GPU memory is short)
    tile_pad=10    # TILE_PAD: we default to 24, blended, so no seam shows
    fp16=True      # FP16: half precision on CUDA, checked and redone in fp32 if it fails

Design:
- The input and the output canvas stay on the host; only batches of tiles visit the device.
- Equal-size overlapping windows, blended with weights that sum to one (see `tiling.py`),
  are accumulated one row of windows at a time, so the float working set is one strip. An
  image with no more pixels than one batch of full windows runs whole, in the same memory.
- Out-of-memory halves the batch, then the tile, down to `min_tile`; non-finite fp16 output
  is recomputed in fp32; a runtime error on CUDA or MPS moves the model to the CPU.
- No per-request state lives on the object, so several threads may call `upscale`. Their
  same-shape tile batches may share one forward pass (`batcher.py`), on GPUs by default.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from spandrel import ImageModelDescriptor

from backend.errors import Cancelled, OutOfDeviceMemory, UnsupportedOption
from backend.models import devices, nnpack, tiling, winograd_compact, winograd_head, winograd_trunk
from backend.models.batcher import BatcherStats, TileBatcher
from backend.models.compiling import compile_network
from backend.models.cuda_graphs import GraphedForward
from backend.models.devices import DeviceInfo
from backend.models.lean_forward import forward_for
from backend.settings import Settings

log = logging.getLogger(__name__)
# ESRGAN parts our Winograd kernels can take over on the CPU in fp32 (CPU_WINOGRAD).
_NATIVE_PARTS = (("RRDB trunk", winograd_trunk.attach), ("head", winograd_head.attach))
# 8-bit planes are views of the caller's (often read-only, decoded) array; tensors made from
# them are only read: copied, padded or converted, never written in place.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class _Plan:
    """Per-call working parameters (kept off the shared upscaler object)."""

    tile: int
    batch: int
    device: DeviceInfo
    dtype: torch.dtype
    share: bool = False  # may share forward passes with other requests' tiles


@dataclass(frozen=True)
class _PassKey:
    """What tile batches must have in common to run as one forward pass."""

    device: DeviceInfo
    dtype: torch.dtype
    height: int  # window size before padding to the model's multiple
    width: int
    host_dtype: torch.dtype  # uint8, or float32 in [0, 1] (16-bit images)
    to_uint8: bool = False  # the pass returns finished uint8 pixels on the host, (N, h*s, w*s, 3)


class RealESRGANUpscaler:
    # Whole-image 8-bit results come back from the forward pass quantised and on the host (one
    # copy per shared pass); off, each request quantises and copies its own output, as before.
    # bench/gpu.py compares the two in one run (no GPU was at hand when this was written).
    finished_passes: bool = True

    def __init__(self, name: str, descriptor: ImageModelDescriptor, settings: Settings, device: DeviceInfo) -> None:
        self.name = name
        self.descriptor = descriptor
        self.scale: int = descriptor.scale
        self.arch: str = descriptor.architecture.name
        self._settings = settings
        self._device = device
        self._multiple_of = _input_multiple(descriptor)
        self._forward_fn = forward_for(descriptor)
        self._lock = threading.Lock()  # guards the model copies and the device switch
        self._placed: dict[tuple[str, torch.dtype], torch.nn.Module] = {}
        self._compiled = False  # some placed copy is set up for torch.compile (TORCH_COMPILE)
        self._graphed: dict[torch.nn.Module, GraphedForward] = {}  # CUDA_GRAPHS, per placed copy
        self._batcher = TileBatcher(
            self._run_pass, wait_s=settings.batch_wait_ms / 1000, first_wait_s=settings.batch_first_wait_ms / 1000
        )
        descriptor.model.eval()

    # ---- public ---------------------------------------------------------------------------

    @property
    def device(self) -> DeviceInfo:
        return self._device

    @property
    def batch_stats(self) -> BatcherStats:
        """Counters of forward passes shared between concurrent requests."""
        return self._batcher.stats

    @property
    def compiled(self) -> bool:
        """Whether a placed copy of the network is set up for torch.compile (TORCH_COMPILE); a
        compile that fails later runs eager (and logs a warning)."""
        return self._compiled

    @property
    def precision(self) -> str:
        return {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(self._dtype_for(self._device), "fp32")

    def count_tiles(self, height: int, width: int, tile: int | None = None) -> int:
        """Windows per image plane, as `upscale` on the current device would cut them."""
        plan = self._plan_for(self._device, self._settings.tile if tile is None else tile)
        return self._windows(*self._padded_size(height, width), plan)

    def warmup(self) -> None:
        """One small forward pass, so the first request does not pay for lazy init."""
        # Sides that match no channel count: with TORCH_COMPILE=on, dynamo would otherwise guard
        # on the equal sizes ("duck sizing") and compile again for the first other shape. When
        # compiling, a tile-like size: inductor sizes its kernels' blocks by the first shape seen.
        height, width = (200, 264) if self._compiles_on(self._device) else (72, 88)
        self.upscale(np.zeros((height, width, 3), dtype=np.uint8), tile=0)
        if self._compiled:  # dynamo compiles a batch of one apart from larger ones: compile both now
            self._forward(np.zeros((2, height, width, 3), dtype=np.uint8), self._plan_for(self._device, 0))

    def upscale(
        self,
        pixels: np.ndarray,
        *,
        outscale: float | None = None,
        tile: int | None = None,
        progress: ProgressCallback | None = None,
        is_cancelled: CancelCheck | None = None,
        gray: bool = False,
    ) -> np.ndarray:
        """Upscale an (H, W, 3|4) uint8/uint16 RGB(A) image; returns the same dtype and channels.

        `gray`: the image is greyscale (three equal channels); the result's three channels all hold
        the luma of the model's float output, rounded once, as RealESRGANer's grey mode computes it."""
        if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype not in (np.uint8, np.uint16):
            raise UnsupportedOption(f"expected an (H, W, 3|4) uint8/uint16 array, got {pixels.shape} {pixels.dtype}")
        outscale = float(self.scale if outscale is None else outscale)
        if outscale <= 0 or outscale != outscale:
            raise UnsupportedOption("scale must be positive")
        height, width, channels = pixels.shape
        max_value = float(np.iinfo(pixels.dtype).max)
        # x2/x1 models pixel-unshuffle: the planes are padded (reflected) to a multiple of the
        # shuffle factor once, as RealESRGANer pads the whole image, so that every window starts
        # on the whole image's unshuffle grid and the result is cropped back below.
        planes = [self._pad_plane(plane) for plane in self._planes(pixels, max_value)]
        native = outscale == self.scale
        canvas_dtype = pixels.dtype if native else np.float32
        padded_h, padded_w = planes[0].shape[:2]
        # RGB, plus one channel for an alpha the model upscaled (the luma of its grey RGB output).
        canvas = np.empty((padded_h * self.scale, padded_w * self.scale, 2 + len(planes)), dtype=canvas_dtype)

        plan = self._plan_for(self._device, self._settings.tile if tile is None else tile)
        with self._batcher.active():
            while True:
                try:
                    quantize_to = max_value if native else 1.0
                    self._run_tiled(planes, canvas, quantize_to, gray, plan, progress, is_cancelled)
                    break
                except Cancelled:
                    raise
                except Exception as exc:  # noqa: BLE001 - classified below, everything else re-raised
                    plan = self._recover(exc, plan, padded_h, padded_w)

        canvas = canvas[: height * self.scale, : width * self.scale]
        return self._finish(pixels, canvas, outscale, max_value)

    # ---- the pieces -----------------------------------------------------------------------

    def _planes(self, pixels: np.ndarray, max_value: float) -> list[np.ndarray]:
        """RGB, plus the alpha channel as a grey RGB image when the model should upscale it.

        8-bit planes stay uint8 (views where they can): windows travel to the device as a
        quarter of the float bytes and become floats there (`_model_input`). 16-bit planes
        become float32 here (torch pads no uint16)."""
        planes = [pixels[..., :3]]
        if pixels.shape[2] == 4 and self._settings.alpha_mode == "model":
            alpha = pixels[..., 3]
            if alpha.min() != alpha.max():  # constant alpha needs no model
                planes.append(np.repeat(alpha[..., None], 3, axis=2))
        if pixels.dtype != np.uint8:
            planes = [plane.astype(np.float32) / max_value for plane in planes]
        return planes

    def _padded_size(self, height: int, width: int) -> tuple[int, int]:
        return height + (-height) % self._multiple_of, width + (-width) % self._multiple_of

    def _pad_plane(self, plane: np.ndarray) -> np.ndarray:
        """The plane reflected at the bottom and right to a multiple of the model's input multiple
        (torch's reflect where that works; np.pad also reflects sides of one or two pixels)."""
        height, width = plane.shape[:2]
        padded_h, padded_w = self._padded_size(height, width)
        if (padded_h, padded_w) == (height, width):
            return plane
        return np.pad(plane, ((0, padded_h - height), (0, padded_w - width), (0, 0)), mode="reflect")

    def _plan_for(self, device: DeviceInfo, tile: int) -> _Plan:
        share = self._settings.batch_across_jobs
        return _Plan(
            tile=tile,
            # Batching tiles feeds a GPU better; on the CPU one tile already fills every core,
            # and a batch would only multiply the working memory.
            batch=1 if device.type == "cpu" and share != "on" else self._settings.tile_batch,
            device=device,
            dtype=self._dtype_for(device),
            share=share == "on" or (share == "auto" and device.type != "cpu"),
        )

    def _recover(self, exc: Exception, plan: _Plan, height: int, width: int) -> _Plan:
        """The plan for the next attempt, or re-raise when there is none."""
        if devices.is_out_of_memory(exc):
            devices.empty_cache(plan.device)
            alone = _Plan(plan.tile, 1, plan.device, plan.dtype)  # and no shared passes
            if plan.batch > 1 and max(self._windows(height, width, p) for p in (plan, alone)) > 1:
                log.warning("out of memory with %d tiles per batch; retrying one at a time", plan.batch)
                return alone
            current = plan.tile if plan.tile > 0 else max(height, width)
            smaller = current // 2
            if smaller < self._settings.min_tile:
                raise OutOfDeviceMemory(
                    f"out of memory on {plan.device.type} even with {current}px tiles; "
                    "try a smaller image or lower TILE / MIN_TILE"
                ) from exc
            log.warning("out of memory with %dpx tiles; retrying with %dpx", current, smaller)
            return _Plan(smaller, 1, plan.device, plan.dtype)
        if plan.device.type != "cpu" and isinstance(exc, RuntimeError):
            log.warning("%s failed (%s); falling back to the CPU", plan.device.type, exc)
            cpu = devices.describe("cpu")
            with self._lock:
                self._device = cpu  # sticky: a device that failed once is not trusted again
            return self._plan_for(cpu, plan.tile)
        raise exc

    def _layout(self, height: int, width: int, plan: _Plan) -> tuple[tiling.AxisLayout, tiling.AxisLayout]:
        return tiling.layout_image(height, width, plan.tile, self._settings.tile_pad, self._multiple_of, plan.batch)

    def _windows(self, height: int, width: int, plan: _Plan) -> int:
        rows, cols = self._layout(height, width, plan)
        return len(rows.starts) * len(cols.starts)

    def _dtype_for(self, device: DeviceInfo) -> torch.dtype:
        s = self._settings
        return devices.choose_dtype(
            device, s.precision, s.fp16, self.descriptor.supports_half, self.descriptor.supports_bfloat16
        )

    def _model_on(self, device: DeviceInfo, dtype: torch.dtype) -> torch.nn.Module:
        key = (str(device.torch_device), dtype)
        with self._lock:
            model = self._placed.get(key)
            if model is None:
                model = copy.deepcopy(self.descriptor.model).to(device.torch_device, dtype)
                native = self._native_network(model) if device.type == "cpu" and dtype == torch.float32 else None
                if native is not None:
                    model = native.eval()
                elif device.type == "cpu" and dtype == torch.float32 and nnpack.available():
                    # Winograd 3x3 convolutions: ~1.7x faster than torch's default oneDNN path on
                    # the CPU, on par with ncnn (bench/FINDINGS.md). NNPACK wants NCHW tensors.
                    model = nnpack.use_nnpack(model).eval()
                    if self._settings.cpu_winograd != "off":
                        parts = [part for part, attach in _NATIVE_PARTS if attach(model)]
                        if parts:
                            log.info("%s: the %s run on the native Winograd kernels", self.name, " and ".join(parts))
                else:
                    # NHWC tiles arrive as channels_last for free; keep the weights in the same layout.
                    model = model.to(memory_format=torch.channels_last).eval()
                    if self._compiles_on(device):
                        self._compiled |= compile_network(model, self.descriptor.architecture.id)
                if device.type == "cuda":
                    # Off by default: no faster on an H200, and autotuning runs again for every new
                    # image shape, in every worker thread (bench/FINDINGS.md).
                    torch.backends.cudnn.benchmark = self._settings.cudnn_benchmark
                    if self._settings.cuda_graphs != "off":
                        self._graphed[model] = GraphedForward(functools.partial(self._forward_fn, model))
                self._placed[key] = model
            return model

    def _native_network(self, model: torch.nn.Module) -> winograd_compact.WinogradCompact | None:
        """Our Winograd kernels for a Compact model on the CPU in fp32 (CPU_WINOGRAD), if they run here."""
        if self._settings.cpu_winograd == "off":
            return None
        native = winograd_compact.network_for(model)
        if native is not None:
            log.info("%s: CPU convolutions run on the native Winograd kernels", self.name)
        return native

    def _compiles_on(self, device: DeviceInfo) -> bool:
        """TORCH_COMPILE: auto compiles on CUDA only (Triton kernels; a CPU compile takes minutes)."""
        setting = self._settings.torch_compile
        return (setting == "on" and device.type in ("cuda", "cpu")) or (setting == "auto" and device.type == "cuda")

    def _run_model(self, model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """The single call into the network (tests wrap it to inject faults)."""
        if isinstance(model, winograd_compact.WinogradCompact):
            return model(batch)  # the whole network, in C
        graphed = self._graphed.get(model)
        return graphed(batch) if graphed is not None else self._forward_fn(model, batch)

    def _forward(self, windows: np.ndarray, plan: _Plan, to_uint8: bool = False) -> torch.Tensor:
        """(N, h, w, 3) uint8, or float32 in [0, 1] -> (N, 3, h*s, w*s) float32 in [0, 1], on the plan's
        device; with `to_uint8`, (N, h*s, w*s, 3) uint8 on the host, quantised as `_flush` does."""
        _, h, w, _ = windows.shape
        batch = torch.from_numpy(windows).permute(0, 3, 1, 2)  # NHWC memory = channels_last
        pad_h, pad_w = (-h) % self._multiple_of, (-w) % self._multiple_of
        if pad_h or pad_w:
            batch = F.pad(batch, (0, pad_w, 0, pad_h), mode="reflect")
        key = _PassKey(plan.device, plan.dtype, h, w, batch.dtype, to_uint8)
        # Other requests' tiles may join this pass, up to the pixels of `tile_batch` full tiles.
        window = self._settings.tile + 2 * self._settings.tile_pad if self._settings.tile else max(h, w)
        budget = self._settings.tile_batch * max(window * window, h * w) if plan.share else 0
        return self._batcher.submit(key, batch, budget)

    def _run_pass(self, key: Hashable, batch: torch.Tensor) -> torch.Tensor:
        """One forward pass for the batcher: an NCHW host batch in (`_model_input`), NCHW device
        floats in [0, 1] out."""
        assert isinstance(key, _PassKey)
        dtype = key.dtype
        target = key.device.torch_device
        with torch.inference_mode():
            if target.type == "cuda":
                # Pinned host memory lets the copy run as DMA instead of through a staging buffer.
                batch = batch.contiguous(memory_format=torch.channels_last).pin_memory()
            try:
                result = self._run_model(self._model_on(key.device, dtype), _model_input(batch, target, dtype))
            except Exception as exc:
                if devices.is_out_of_memory(exc):
                    devices.empty_cache(key.device)  # before anyone retries, alone or smaller
                raise
            if dtype != torch.float32 and not bool(torch.isfinite(result).all()):
                log.warning("non-finite output in %s on %s; recomputing in fp32", dtype, key.device.type)
                fp32 = self._model_on(key.device, torch.float32)
                result = self._run_model(fp32, _model_input(batch, target, torch.float32))
            result = result[:, :, : key.height * self.scale, : key.width * self.scale].float().clamp_(0, 1)
            return _to_host_uint8(result) if key.to_uint8 else result

    def _run_tiled(
        self,
        planes: list[np.ndarray],
        canvas: np.ndarray,
        quantize_to: float,
        gray: bool,
        plan: _Plan,
        progress: ProgressCallback | None,
        is_cancelled: CancelCheck | None,
    ) -> None:
        """Fill `canvas` (H*s, W*s, 2 + len(planes)) one row of windows at a time.

        The strip lives on the plan's device: tiles are blended and quantised there, and only
        finished uint8/uint16 rows travel back to the host (a quarter of the float bytes).
        """
        height, width, _ = planes[0].shape
        s = self.scale
        rows, cols = self._layout(height, width, plan)
        if len(rows.starts) == len(cols.starts) == 1:
            self._run_whole(planes, canvas, quantize_to, gray, plan, progress, is_cancelled)
            return
        target = plan.device.torch_device
        row_weights = [torch.from_numpy(w).to(target) for w in tiling.axis_weights(rows, height, s)]
        col_weights = [torch.from_numpy(w).to(target) for w in tiling.axis_weights(cols, width, s)]
        total = len(rows.starts) * len(cols.starts) * len(planes)
        done = 0
        if progress is not None:  # the total before the first batch: a job shows "0 of N", not "0 of 0"
            progress(0, total)
        strip_h = rows.length * s
        strip = torch.zeros((3 * len(planes), strip_h, width * s), dtype=torch.float32, device=target)
        strip_top = 0  # output row where `strip` starts
        tile_w = cols.length * s

        for row_index, y in enumerate(rows.starts):
            # Rows above this window row are final: flush them and slide the strip down.
            shift = y * s - strip_top
            if shift:
                self._flush_planes(strip[:, :shift], canvas, strip_top, quantize_to, gray)
                strip[:, :-shift] = strip[:, shift:].clone()
                strip[:, -shift:] = 0
                strip_top = y * s
            jobs = [(p, x) for p in range(len(planes)) for x in range(len(cols.starts))]
            for first in range(0, len(jobs), plan.batch):
                if is_cancelled is not None and is_cancelled():
                    raise Cancelled("cancelled")
                chunk = jobs[first : first + plan.batch]
                windows = np.stack(
                    [planes[p][y : y + rows.length, cols.starts[x] : cols.starts[x] + cols.length] for p, x in chunk]
                )
                outputs = self._forward(windows, plan)
                for (p, x), out in zip(chunk, outputs, strict=True):
                    x0 = cols.starts[x] * s
                    weight = torch.outer(row_weights[row_index], col_weights[x])
                    strip[3 * p : 3 * p + 3, :, x0 : x0 + tile_w].addcmul_(out, weight)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        self._flush_planes(strip, canvas, strip_top, quantize_to, gray)

    def _run_whole(
        self,
        planes: list[np.ndarray],
        canvas: np.ndarray,
        quantize_to: float,
        gray: bool,
        plan: _Plan,
        progress: ProgressCallback | None,
        is_cancelled: CancelCheck | None,
    ) -> None:
        """One window covers the image: no blend weights, no strip, straight into the canvas.

        8-bit results come back finished: the pass quantises and copies every request's pixels
        at once, so a shared pass of small requests costs one copy to the host, not one each."""
        if progress is not None:
            progress(0, len(planes))
        for index, plane in enumerate(planes):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled("cancelled")
            # Grey results and alpha take the luma of the float output: no finished uint8 pass.
            finished = self.finished_passes and canvas.dtype == np.uint8 and index == 0 and not gray
            output = self._forward(plane[None], plan, to_uint8=finished)[0]
            if finished:
                torch.from_numpy(canvas[..., :3]).copy_(output)
            else:
                target = canvas[..., :3] if index == 0 else canvas[..., 3:4]
                self._flush(output, target, 0, quantize_to, gray=gray and index == 0)
            if progress is not None:
                progress(index + 1, len(planes))

    @classmethod
    def _flush_planes(cls, rows: torch.Tensor, canvas: np.ndarray, top: int, quantize_to: float, gray: bool) -> None:
        """(3 * planes, r, W) finished rows of the RGB plane and the alpha plane, if any, into the canvas."""
        cls._flush(rows[:3], canvas[..., :3], top, quantize_to, gray=gray)
        if rows.shape[0] > 3:
            cls._flush(rows[3:6], canvas[..., 3:4], top, quantize_to)

    @staticmethod
    def _flush(rows: torch.Tensor, canvas: np.ndarray, top: int, quantize_to: float, gray: bool = False) -> None:
        """Write (3, r, W) finished rows into the host canvas (r, W, C), quantised where it is integer.

        A one-channel canvas (alpha, upscaled by the model as grey RGB) and `gray` take the luma of
        the float rows, rounded once: RealESRGANer's cv2 BGR2GRAY of its float output."""
        if gray or canvas.shape[2] == 1:
            rows = _luma(rows)[None].expand(canvas.shape[2], -1, -1)
        if canvas.dtype != np.float32:
            # As uint8 when it fits, so only a quarter of the bytes travel.
            rows = _quantised(rows, quantize_to, torch.uint8 if canvas.dtype == np.uint8 else torch.int32)
        # Straight into the canvas: no host-side buffer to copy from again (2048² RGB: 12 MB).
        torch.from_numpy(canvas[top : top + rows.shape[1]]).copy_(rows.permute(1, 2, 0))

    def _finish(self, pixels: np.ndarray, canvas: np.ndarray, outscale: float, max_value: float) -> np.ndarray:
        """Resize to the requested scale, put alpha back, and return the input's dtype."""
        height, width, channels = pixels.shape
        # As backend/service/limits.output_size: never an empty side.
        out_h, out_w = max(1, round(height * outscale)), max(1, round(width * outscale))
        if canvas.dtype == np.float32:
            canvas = _resize_float(canvas, out_h, out_w)
            canvas = np.rint(np.clip(canvas, 0.0, 1.0) * max_value).astype(pixels.dtype)
        rgb = canvas[..., :3]
        if channels == 3:
            return np.ascontiguousarray(rgb)
        # Alpha the model upscaled as grey RGB is the canvas's 4th channel (its luma, rounded once).
        has_alpha = canvas.shape[2] == 4
        alpha = canvas[..., 3] if has_alpha else _resize_alpha(pixels[..., 3], out_h, out_w, max_value)
        return np.concatenate([rgb, alpha[..., None]], axis=2)


def _input_multiple(descriptor: ImageModelDescriptor) -> int:
    """What input sides must be a multiple of. spandrel says 4 for every pixel-unshuffle ESRGAN,
    but x2 models unshuffle by 2, and RealESRGANer pads their input to a multiple of 2 only:
    padding to 4 changed the bottom and right borders (20-59 dB against the official output,
    by weights; bench/fidelity.py)."""
    shuffle = getattr(descriptor.model, "shuffle_factor", None)
    if descriptor.architecture.id == "ESRGAN" and isinstance(shuffle, int) and shuffle > 0:
        return shuffle
    return max(1, descriptor.size_requirements.multiple_of)


def _luma(rows: torch.Tensor) -> torch.Tensor:
    """(3, ...) RGB floats -> (...) luma with cv2's BGR2GRAY weights, as RealESRGANer's grey and alpha."""
    return rows[0] * 0.299 + rows[1] * 0.587 + rows[2] * 0.114


def _model_input(batch: torch.Tensor, target: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A host batch (uint8, or float32 in [0, 1]) on the model's device, in its dtype, in [0, 1]."""
    moved = batch.to(target, non_blocking=True)
    if moved.dtype == torch.uint8:
        # The float32 division numpy would do on the host: the same values, a quarter of the copy.
        moved = moved.to(torch.float32).div_(255)
    return moved.to(dtype)


def _quantised(floats: torch.Tensor, max_value: float, dtype: torch.dtype) -> torch.Tensor:
    """rint(clip(x, 0, 1) * max_value) as `dtype`: the one rounding every integer output goes through."""
    return floats.clamp(0.0, 1.0).mul_(max_value).round_().to(dtype)


def _to_host_uint8(result: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) floats -> (N, H, W, 3) uint8 on the host, quantised as `_flush` does."""
    pixels = _quantised(result, 255.0, torch.uint8).permute(0, 2, 3, 1)
    if pixels.device.type == "cpu":
        return pixels
    # One copy for the whole pass, into pinned memory (DMA, no staging buffer).
    host = torch.empty(pixels.shape, dtype=torch.uint8, pin_memory=pixels.device.type == "cuda")
    return host.copy_(pixels)


def _resize_float(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bicubic with antialiasing in float, as the guide's ncnn x2/x3 variants do after the x4 model."""
    if image.shape[:2] == (out_h, out_w):
        return image
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    resized = F.interpolate(tensor, size=(out_h, out_w), mode="bicubic", antialias=True, align_corners=False)
    return resized[0].permute(1, 2, 0).numpy()


def _resize_alpha(alpha: np.ndarray, out_h: int, out_w: int, max_value: float) -> np.ndarray:
    """Bicubic (sharper than bilinear, no model cost) for alpha when ALPHA_MODE=bicubic or alpha is constant."""
    resized = _resize_float(alpha[..., None].astype(np.float32) / max_value, out_h, out_w)[..., 0]
    return np.rint(np.clip(resized, 0.0, 1.0) * max_value).astype(alpha.dtype)
