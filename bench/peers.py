"""Raw-network runners for the peers: onnxruntime and ncnn on the CPU, on the same weights.

Each `make_*` returns `run(x) -> y` on (1, 3, H, W) float32 arrays in [0, 1] (NCHW, RGB),
so a tiling loop or a whole-image call can use any of them.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import numpy as np
import torch

from bench.common import CACHE, MODELS, spandrel_model


def onnx_file(name: str) -> Path:
    """Our model exported to ONNX (TorchScript exporter, opset 17, dynamic H/W), cached."""
    target = CACHE / f"{name}.onnx"
    if target.is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    model = spandrel_model(name)
    kwargs = {
        "input_names": ["input"],
        "output_names": ["output"],
        "opset_version": 17,
        "dynamic_axes": {"input": {0: "n", 2: "h", 3: "w"}, "output": {0: "n", 2: "oh", 3: "ow"}},
    }
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    tmp = target.with_suffix(".tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.rand(1, 3, 64, 64),), str(tmp), **kwargs)
    tmp.replace(target)
    return target


def make_onnxruntime(name: str, threads: int = 0):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(onnx_file(name)), options, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})[0]

    return run


def make_ncnn(name: str, threads: int = 2):
    """The bundled .param/.bin as ncnn runs them on the CPU (input blob "data", output "output")."""
    import ncnn

    from backend.models.bundled import bundled_models_dir

    stem = bundled_models_dir() / MODELS[name]
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    if net.load_param(str(stem.with_suffix(".param"))) or net.load_model(str(stem.with_suffix(".bin"))):
        raise RuntimeError(f"ncnn could not load {stem}")

    def run(x: np.ndarray) -> np.ndarray:
        outs = []
        for image in x:  # ncnn takes one CHW image at a time
            data = np.ascontiguousarray(image, dtype=np.float32)  # ncnn.Mat borrows this buffer
            ex = net.create_extractor()
            ex.input("data", ncnn.Mat(data))
            _, out = ex.extract("output")
            outs.append(np.array(out, copy=True))
            del ex
        return np.stack(outs)

    return run
