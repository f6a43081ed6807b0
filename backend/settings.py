"""All configuration, read once from the environment and `.env`.

No other module reads `os.environ`; everything takes a `Settings` instance.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BACKEND_DIR = Path(__file__).resolve().parent
REPO_DIR = BACKEND_DIR.parent

Precision = Literal["auto", "fp16", "bf16", "fp32"]
AlphaMode = Literal["model", "bicubic"]
Switch = Literal["auto", "on", "off"]


DEVICE_CHOICES = "auto, cuda, cuda:N, mps or cpu"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
_DEVICE_TYPES = ("cuda", "mps", "cpu")
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


def normalize_device(value: str) -> str:
    """`DEVICE` / `--device`: a typo such as `gpu` is an error at start, not a silent CPU run."""
    device = value.strip().lower()
    if not _DEVICE.fullmatch(device):
        raise ValueError(f"{value!r} is not a device: use {DEVICE_CHOICES}")
    return device


def _normalize_device_order(value: list[str]) -> list[str]:
    order = [item.lower() for item in value]
    unknown = [item for item in order if item not in _DEVICE_TYPES]
    if unknown:
        raise ValueError(f"unknown device types {unknown}: use cuda, mps and cpu, in the order to try them")
    return order


# Path segments of plain URL characters: the value is also matched as a regular expression by
# Starlette 0.36 (`re.sub("^" + root_path, ...)`), and lands in HTML and Location headers.
_ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


def _check_root_path(value: str) -> str:
    """`ROOT_PATH`: empty, or `/name[/name...]`; a typo fails at start instead of breaking every link."""
    if value and (not _ROOT_PATH.fullmatch(value) or any(part in (".", "..") for part in value.split("/"))):
        raise ValueError("use empty or a path such as /upscaler: starting with '/', no trailing '/', no '.' or '..'")
    return value


def invalid_settings(error: ValidationError) -> list[str]:
    """One line per bad setting, named as in the environment: `DEVICE='gpu': ...`."""
    lines = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"invalid setting {name}={item.get('input')!r}: {message}")
    return lines


def _blank_is_default(value: object) -> object:
    """`MODELS_DIR=` (an uncommented empty line, or compose's `${MODELS_DIR:-}`) means the default,
    not Path(""), which is the current directory of whoever starts the service."""
    if isinstance(value, str) and not value.strip():
        raise PydanticUseDefault()
    return value


def _split_csv(value: object) -> object:
    """Let list settings be written as `a,b,c` in the environment."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(REPO_DIR / ".env", BACKEND_DIR / ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        protected_namespaces=(),
    )

    # --- server ---
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)
    log_level: LogLevel = "info"
    # URL prefix a proxy strips before forwarding (`/upscaler`); links the service hands out carry it
    root_path: str = ""

    # --- models ---
    models_dir: Path = BACKEND_DIR / "weights"
    default_model: str = "RealESRGAN_x4plus"
    preload_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    warmup: bool = True
    download_base_url: str = "https://github.com/xinntao/Real-ESRGAN/releases/download"

    # --- device and precision ---
    device: str = "auto"  # auto | cuda | cuda:N | mps | cpu
    device_order: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["cuda", "mps", "cpu"])
    precision: Precision = "auto"  # auto = fp16 on CUDA when the model supports it, else fp32
    fp16: bool = True  # the guide's switch; False forces fp32 when precision=auto
    torch_compile: Switch = "auto"  # torch.compile; auto = CUDA (x4plus 512²: 28 % less time on H100, +15 s warm-up)
    cuda_graphs: Switch = "auto"  # replay small passes (<= 8 x 128² px) from CUDA graphs; auto/on = on CUDA
    # CPU, fp32: SRVGGNetCompact models (animevideov3) and the RRDB trunk of ESRGAN models
    # (x4plus) run on our own Winograd kernels (AVX-512 or AVX2, built with the system C compiler on
    # first use); off, or where they cannot build or run = torch's NNPACK convolutions.
    # auto and on mean the same.
    cpu_winograd: Switch = "auto"
    cudnn_benchmark: bool = False  # cuDNN autotuning per shape: no faster on an H200, and every new shape pays

    # --- tiling ---
    tile: int = Field(400, ge=0)  # core tile size in input pixels; 0 = whole image in one pass
    tile_pad: int = Field(24, ge=0)  # overlap on each side, in input pixels (24 keeps x4plus tiles >50 dB)
    min_tile: int = Field(32, ge=8)  # floor for the out-of-memory step-down
    tile_batch: int = Field(4, ge=1)  # tiles per forward pass, when memory allows
    alpha_mode: AlphaMode = "model"

    # --- output ---
    # zlib level of PNG output. 1 is OpenCV's default (the official inference script's
    # cv2.imwrite): a 2048² result encodes ~5x faster than at 6, for 7-27 % more bytes.
    png_compression: int = Field(1, ge=0, le=9)

    # --- limits ---
    max_upload_mb: float = Field(50.0, gt=0)
    max_input_pixels: int = Field(4096 * 4096, gt=0)
    max_output_pixels: int = Field(16384 * 16384, gt=0)
    max_scale: float = Field(8.0, gt=0)
    max_batch_files: int = Field(20, ge=1)

    # --- service ---
    queue_size: int = Field(8, ge=1)
    job_concurrency: int = Field(0, ge=0)  # jobs run at once per replica; 0 = auto (4 on a GPU, 1 on the CPU)
    batch_across_jobs: Switch = "auto"  # concurrent jobs' same-shape tiles share forward passes (auto: GPUs only)
    batch_wait_ms: float = Field(2.0, ge=0, le=1000)  # how long a pass waits for other running jobs' tiles
    # A pass that finds the device idle waits until no request has arrived for this long (at most
    # BATCH_WAIT_MS, or this): a burst of small requests then shares its first pass.
    batch_first_wait_ms: float = Field(0.5, ge=0, le=1000)
    job_ttl_seconds: int = Field(3600, ge=1)
    jobs_max_disk_mb: float = Field(4096, ge=0)  # results kept for /api/jobs; when full, new jobs get 503; 0 = no cap
    jobs_dir: Path = BACKEND_DIR / "weights" / "jobs"
    shutdown_timeout: float = Field(30.0, ge=0)

    # --- security ---
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3332", "http://127.0.0.1:3332"]
    )
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)

    _split = field_validator("preload_models", "device_order", "cors_origins", "api_keys", mode="before")(_split_csv)
    _device = field_validator("device")(normalize_device)
    _device_order = field_validator("device_order")(_normalize_device_order)
    _root_path = field_validator("root_path")(_check_root_path)
    _folders = field_validator("models_dir", "jobs_dir", mode="before")(_blank_is_default)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value  # LOG_LEVEL=INFO works too

    # --- replicas ---
    replica_id: str = ""  # job-id prefix so nginx can route /api/jobs/{id} to its replica; "" = from hostname

    def jobs_at_once(self, device_type: str) -> int:
        """`job_concurrency` resolved for the device the models run on."""
        if self.job_concurrency:
            return self.job_concurrency
        return 1 if device_type == "cpu" else 4

    @property
    def bundled_cache_dir(self) -> Path:
        """Where converted bundled weights are cached (safetensors)."""
        return self.models_dir / "bundled"


@lru_cache
def get_settings() -> Settings:
    return Settings()
