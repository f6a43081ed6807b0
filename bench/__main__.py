"""`python -m bench`: the engine against RealESRGANer, ncnn and onnxruntime on the CPU.

Writes bench/results/compare.json, docs/benchmarks.md and docs/benchmarks.png.
`--memory` adds the 1024² -> 4096² peak-RSS run (minutes); `python -m bench.levers`
sweeps the CPU levers; `bench/gpu.sh` is the GPU run; `python -m bench.load` drives the API.
"""

from __future__ import annotations

import argparse
import json

from bench.common import RESULTS, SHORT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="x4plus,animevideov3")
    parser.add_argument("--sizes", default="", help="override the per-model sizes, e.g. 64,128")
    parser.add_argument(
        "--tiled",
        default="animevideov3@256:64,x4plus@96:32",
        help="also run [MODEL@]SIZE:TILE cases, comma-separated ('' for none)",
    )
    parser.add_argument(
        "--peers",
        default="ours,ours_bf16,official,ncnn,onnxruntime",
        help="also: ours_prev (spandrel's forwards), ours_ncnn (ncnn in our tiling), ours@REV (the engine at REV)",
    )
    parser.add_argument("--tile", type=int, default=400, help="engine default: TILE=400")
    parser.add_argument("--pad", type=int, default=None, help="default: the engine's TILE_PAD")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="threads per peer (0 = all cores)")
    parser.add_argument(
        "--clock",
        default="cpu",
        choices=("cpu", "wall"),
        help="what the ratios use: process CPU time (robust on a shared box, with --threads 1) or wall time",
    )
    parser.add_argument("--memory", action="store_true", help="also run the 1024² x4plus peak-RSS check")
    parser.add_argument("--report-only", action="store_true", help="rewrite the docs from saved results")
    parser.add_argument("--tag", default="", help="save as compare_TAG.json (kept beside the main run)")
    args = parser.parse_args()

    from bench import report

    RESULTS.mkdir(parents=True, exist_ok=True)
    saved = RESULTS / (f"compare_{args.tag}.json" if args.tag else "compare.json")
    if not args.report_only:
        from backend.settings import Settings
        from bench.run import compare

        if args.pad is None:
            args.pad = Settings().tile_pad
        default_sizes = {"x4plus": [64, 128], "animevideov3": [64, 128, 256, 512]}
        runs = []
        for short in args.models.split(","):
            sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else default_sizes[short]
            peers = args.peers.split(",")
            if short != "x4plus":  # dense buffers only change ESRGAN's RRDB blocks
                peers = [p for p in peers if p != "ours_dense"]
            runs.append(
                compare(SHORT[short], peers, sizes, args.tile, args.pad, args.repeats, args.threads, args.clock)
            )
            for spec in filter(None, args.tiled.split(",")):
                only, _, spec = spec.rpartition("@")
                if only and only != short:
                    continue
                size, tile = (int(v) for v in spec.split(":"))
                runs.append(
                    compare(SHORT[short], peers, [size], tile, args.pad, args.repeats, args.threads, args.clock)
                )
        for run in runs:
            run["tag"] = args.tag
        saved.write_text(json.dumps(runs, indent=2))
    if args.memory:
        from bench import memory

        memory.main([])
    runs = []
    for path in sorted(RESULTS.glob("compare*.json")):  # the main run first, then tagged extras
        runs += json.loads(path.read_text())
    report.write(runs)


if __name__ == "__main__":
    main()
