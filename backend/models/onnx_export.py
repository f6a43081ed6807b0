"""Export a loaded model to ONNX for the browser (onnxruntime-web), cached on disk.

The file is fp32, opset 17, NCHW RGB in 0..1: input "input" of shape (N, 3, H, W) and output
"output" of shape (N, 3, H*s, W*s), with batch, height and width dynamic. It is cached as
`settings.models_dir / "onnx" / f"{name}.onnx"` and written atomically (temp file, then rename),
so a concurrent reader never sees half a file. A cached file older than the model's weight file
is exported again.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import torch

from backend.errors import ModelLoadError
from backend.models.registry import validate_model_name

log = logging.getLogger(__name__)

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"
# Traced at this size; x2/x1 RRDB models pixel-unshuffle, so keep it a multiple of 4.
_TRACE_SIZE = 64

_locks_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path), threading.Lock())


def _settings_of(manager: Any):
    settings = getattr(manager, "settings", None)
    if settings is None:
        from backend.settings import get_settings

        settings = get_settings()
    return settings


def onnx_path(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / "onnx" / f"{validate_model_name(name)}.onnx"


def _weights_mtime(manager: Any, name: str) -> float | None:
    """When the model's weight file last changed, if it has one on disk."""
    find = getattr(manager, "list_models", None)
    if find is None:
        return None
    try:
        for entry in find():
            if entry.name == name and entry.path is not None:
                return Path(entry.path).stat().st_mtime
    except OSError:
        return None
    return None


def _export_module(module: torch.nn.Module, target: Path) -> None:
    dummy = torch.rand(1, 3, _TRACE_SIZE, _TRACE_SIZE, dtype=torch.float32)
    kwargs: dict[str, Any] = {
        "input_names": [INPUT_NAME],
        "output_names": [OUTPUT_NAME],
        "opset_version": OPSET,
        "dynamic_axes": {
            INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
            OUTPUT_NAME: {0: "batch", 2: "out_height", 3: "out_width"},
        },
        "do_constant_folding": True,
    }
    # torch >= 2.9 defaults to the dynamo exporter, which needs onnxscript; the TorchScript
    # exporter handles these convolutional models with no extra dependency.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (dummy,), str(target), **kwargs)


def cached_onnx(manager: Any, name: str) -> Path | None:
    """The cached ONNX file of `name` when it is there and not older than the weights, else None.

    Cheap (a directory listing and two stats): callers check it before queueing for an export.
    """
    validate_model_name(name)
    target = onnx_path(_settings_of(manager).models_dir, name)
    try:
        if not target.is_file():
            return None
        weights_mtime = _weights_mtime(manager, name)
        return target if weights_mtime is None or target.stat().st_mtime >= weights_mtime else None
    except OSError:
        return None


def export_onnx(manager: Any, name: str) -> Path:
    """The ONNX file for model `name`, exported once and then served from the cache.

    `manager` is a `ModelManager`; `manager.get(name).descriptor` is the spandrel descriptor.
    Raises the manager's errors (InvalidModelName, ModelNotFound, ModelLoadError) unchanged,
    and ModelLoadError when the export itself fails.
    """
    validate_model_name(name)
    settings = _settings_of(manager)
    target = onnx_path(settings.models_dir, name)
    with _lock_for(target):
        if (cached := cached_onnx(manager, name)) is not None:
            return cached

        upscaler = manager.get(name)
        descriptor = getattr(upscaler, "descriptor", None)
        if descriptor is None or not isinstance(getattr(descriptor, "model", None), torch.nn.Module):
            raise ModelLoadError(f"model {name!r} has no torch module to export")
        # A private fp32 CPU copy: the live model may be half precision on a GPU and in use.
        module = copy.deepcopy(descriptor.model).float().cpu().eval()

        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".onnx.tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _export_module(module, tmp)
            _check(tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a web server may run as another user
            os.replace(tmp, target)
        except ModelLoadError:
            raise
        except Exception as exc:  # the exporter raises many kinds of errors
            log.exception("ONNX export of %s failed", name)
            raise ModelLoadError(f"could not export model {name!r} to ONNX: {type(exc).__name__}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        log.info("exported %s to %s (%.1f MB)", name, target, target.stat().st_size / 1e6)
        return target


def _check(path: Path) -> None:
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if inputs != [INPUT_NAME] or outputs != [OUTPUT_NAME]:
        raise ModelLoadError(f"unexpected ONNX signature {inputs} -> {outputs}")
