"""Response bodies, so that /docs and /openapi.json describe every answer, errors included."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Size = tuple[int, int]


class ErrorResponse(BaseModel):
    detail: str = Field(description="What went wrong, for a person")
    code: str = Field(description="Stable machine-readable error code, e.g. `invalid_image`")
    request_id: str | None = Field(None, description="Quote this when reporting a server error")
    errors: list[dict[str, Any]] | None = Field(None, description="Per-field problems (validation errors only)")


class Device(BaseModel):
    type: Literal["cuda", "mps", "cpu"]
    name: str
    torch_version: str


class DeviceDetail(Device):
    index: int | None = None
    memory: dict[str, int] | None = Field(None, description="Bytes, where the backend reports them")


class Health(BaseModel):
    # `model_loaded` is part of the guide's API; pydantic < 2.10 would warn about the `model_` prefix
    model_config = ConfigDict(protected_namespaces=())

    status: Literal["healthy", "loading", "unhealthy"]
    model_loaded: bool = Field(description="True once the default model is loaded and warmed up")
    device: Device
    model: str = Field(description="The default model")
    replica: str
    error: str | None = None


class ModelInfo(BaseModel):
    name: str
    scale: int | None = Field(description="Native scale; null for a custom file not loaded yet")
    arch: str | None
    source: Literal["bundled", "downloaded", "custom"]
    loaded: bool
    default: bool
    description: str = ""
    supports_denoise: bool = Field(description="Accepts `denoise_strength`")


class ModelList(BaseModel):
    default: str
    models: list[ModelInfo]


class ModelsSummary(BaseModel):
    default: str
    loaded: list[str]
    available: list[str]
    compiled: list[str] = Field(
        default_factory=list,
        description="Loaded models set up for torch.compile (TORCH_COMPILE; auto = CUDA). A compile that fails "
        "runs eager instead and logs a warning.",
    )


class Limits(BaseModel):
    max_upload_mb: float
    max_input_pixels: int
    max_output_pixels: int
    min_scale: float
    max_scale: float
    max_batch_files: int
    formats: list[str]
    quality: Size
    tile: Size = Field(description="Allowed tile sizes (0 = no tiling)")
    default_tile: int


class QueueInfo(BaseModel):
    capacity: int
    depth: int
    running: int
    workers: int


class Info(BaseModel):
    device: DeviceDetail
    models: ModelsSummary
    limits: Limits
    queue: QueueInfo
    versions: dict[str, str]
    replica: str


class UpscaleDetails(BaseModel):
    original_size: Size
    output_size: Size
    process_time: float = Field(description="Seconds spent upscaling and encoding")
    device: str
    model: str
    format: str


class UpscaleInfoResponse(BaseModel):
    success: bool
    image: str = Field(description="data: URL with the base64 image")
    info: UpscaleDetails


class JobError(BaseModel):
    code: str
    detail: str


class JobStatus(BaseModel):
    id: str = Field(description="`<replica>.<32 hex>`: the prefix names the replica that holds the job")
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float = Field(description="0 to 100, counted in tiles done")
    tiles_done: int
    tiles_total: int
    eta_seconds: float | None
    queue_position: int | None = Field(description="0 = next to run; null once running or done")
    created_at: float
    started_at: float | None
    finished_at: float | None
    model: str | None
    device: str | None
    format: str
    original_size: Size
    output_size: Size
    error: JobError | None
    status_url: str
    events_url: str
    result_url: str


class BatchItem(BaseModel):
    filename: str
    ok: bool
    output: str | None = Field(None, description="Name of the result inside the ZIP")
    original_size: Size | None = None
    output_size: Size | None = None
    process_time: float | None = None
    error: JobError | None = None


class BatchReport(BaseModel):
    model: str
    succeeded: int
    failed: int
    files: list[BatchItem]
