"""Which CPU levers speed up the raw network? (`python -m bench.levers --model x4plus --size 64`)

Every variant runs the same fp32 weights on the same photo; variants are interleaved
round-robin, `--repeats` times, and the median is compared with the plain fp32 NCHW
`torch.no_grad()` forward and with onnxruntime / ncnn measured in the same loop.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable

import numpy as np
import torch

from bench.common import MFLOP_PER_PIXEL, RESULTS, SHORT, median, photo, psnr, spandrel_model, to_uint8
from bench.nnpack import use_dense_buffers, use_nnpack
from bench.peers import make_ncnn, make_onnxruntime

Runner = Callable[[torch.Tensor], torch.Tensor]


def _plain(model) -> Runner:
    def run(x):
        with torch.no_grad():
            return model(x)

    return run


def _inference(model, channels_last: bool = False, dtype=torch.float32) -> Runner:
    model = copy.deepcopy(model).to(dtype)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)

    def run(x):
        x = x.to(dtype)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return model(x).float()

    return run


def _autocast_bf16(model) -> Runner:
    model = copy.deepcopy(model).to(memory_format=torch.channels_last)

    def run(x):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return model(x.contiguous(memory_format=torch.channels_last)).float()

    return run


def _threads(model, n: int) -> Runner:
    inner = _inference(model, channels_last=True)

    def run(x):
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return inner(x)
        finally:
            torch.set_num_threads(before)

    return run


def _jit_frozen(model, x, channels_last: bool) -> Runner:
    model = copy.deepcopy(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))

    def run(x):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            return frozen(x)

    return run


def _mkldnn(model) -> Runner:
    from torch.utils import mkldnn

    converted = mkldnn.to_mkldnn(copy.deepcopy(model))

    def run(x):
        with torch.no_grad():
            return converted(x.to_mkldnn()).to_dense()

    return run


def _compiled(model, x, mode: str | None) -> Runner:
    model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    compiled = torch.compile(model, mode=mode, dynamic=False)
    start = time.perf_counter()
    with torch.inference_mode():
        compiled(x.contiguous(memory_format=torch.channels_last))
    print(f"  torch.compile(mode={mode}) first call: {time.perf_counter() - start:.1f} s", flush=True)

    def run(x):
        with torch.inference_mode():
            return compiled(x.contiguous(memory_format=torch.channels_last))

    return run


def _nnpack(model, dense: bool = False) -> Runner:
    model = use_nnpack(copy.deepcopy(model))
    if dense:
        model = use_dense_buffers(model)

    def run(x):
        with torch.inference_mode():
            return model(x.contiguous())

    return run


def _peer(make, name, threads: int) -> Runner:
    peer = make(name, threads)
    return lambda x: torch.from_numpy(peer(x.numpy()))


def variants(name: str, x: torch.Tensor, only: set[str] | None, threads: int) -> dict[str, Runner]:
    model = spandrel_model(name)
    makers: dict[str, Callable[[], Runner]] = {
        "plain_nchw_no_grad": lambda: _plain(model),
        "inference_mode": lambda: _inference(model),
        "channels_last": lambda: _inference(model, channels_last=True),
        "channels_last_1thread": lambda: _threads(model, 1),
        "channels_last_2threads": lambda: _threads(model, 2),
        "nnpack": lambda: _nnpack(model),
        "nnpack_dense": lambda: _nnpack(model, dense=True),
        "jit_freeze_nchw": lambda: _jit_frozen(model, x, False),
        "jit_freeze_cl": lambda: _jit_frozen(model, x, True),
        "mkldnn_tensors": lambda: _mkldnn(model),
        "bf16_weights_cl": lambda: _inference(model, channels_last=True, dtype=torch.bfloat16),
        "bf16_autocast_cl": lambda: _autocast_bf16(model),
        "compile_default": lambda: _compiled(model, x, None),
        "compile_max_autotune": lambda: _compiled(model, x, "max-autotune-no-cudagraphs"),
        "onnxruntime": lambda: _peer(make_onnxruntime, name, threads),
        "ncnn": lambda: _peer(make_ncnn, name, threads),
    }
    out: dict[str, Runner] = {}
    for key, make in makers.items():
        if only and key not in only and key != "plain_nchw_no_grad":
            continue
        try:
            start = time.perf_counter()
            out[key] = make()
            print(f"  built {key} in {time.perf_counter() - start:.1f} s", flush=True)
        except Exception as exc:  # noqa: BLE001 - an unsupported lever is a result too
            print(f"  {key}: unavailable ({type(exc).__name__}: {str(exc)[:120]})", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="x4plus", choices=sorted(SHORT))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--threads", type=int, default=0, help="torch/onnxruntime/ncnn threads (0 = all cores)")
    parser.add_argument(
        "--clock",
        default="wall",
        choices=("wall", "cpu"),
        help="cpu = process CPU time: robust on a shared machine, meaningful with --threads 1",
    )
    args = parser.parse_args(argv)
    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    name = SHORT[args.model]
    torch.manual_seed(0)
    image = np.stack([photo(args.size, i) for i in range(args.batch)])
    x = torch.from_numpy(image.transpose(0, 3, 1, 2).astype(np.float32) / 255.0).contiguous()
    print(
        f"{name} {args.batch}x{args.size}^2, torch {torch.__version__}, {threads} threads, {args.clock} clock",
        flush=True,
    )
    runners = variants(name, x, set(filter(None, args.only.split(","))), threads)
    reference = None
    quality: dict[str, float] = {}
    for key, run in list(runners.items()):  # warm-up pass, also checks the output
        try:
            y = run(x.clone())
        except Exception as exc:  # noqa: BLE001 - e.g. mkldnn tensors lack an op
            print(f"  {key}: fails at run time ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
            del runners[key]
            continue
        out = to_uint8(y[:1])
        if reference is None:
            reference = out
        quality[key] = psnr(out, reference)
    times: dict[str, list[float]] = {key: [] for key in runners}
    for _ in range(args.repeats):
        for key, run in runners.items():
            start = clock()
            run(x.clone())
            times[key].append(clock() - start)
    base = median(times["plain_nchw_no_grad"])
    flops = MFLOP_PER_PIXEL[name] * 1e6 * args.batch * args.size**2
    rows = []
    print(f"{'variant':24s} {'median s':>9s} {'x vs plain':>10s} {'GFLOP/s':>8s} {'PSNR dB':>8s}")
    for key, values in times.items():
        m = median(values)
        rows.append(
            {"variant": key, "median_s": m, "speedup": base / m, "gflops": flops / m / 1e9, "psnr": quality[key]}
        )
        print(f"{key:24s} {m:9.3f} {base / m:10.2f} {flops / m / 1e9:8.1f} {quality[key]:8.1f}")
    result = {
        "model": name,
        "size": args.size,
        "batch": args.batch,
        "repeats": args.repeats,
        "threads": threads,
        "clock": args.clock,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"levers_{args.model}_{args.batch}x{args.size}_t{threads}_{args.clock}.json"
    path.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
