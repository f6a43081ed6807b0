"""Prometheus metrics: requests, latency, queue depth, inference time, tiles/s, shared passes, device memory.

Each app gets its own registry, so several apps (tests) never collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from backend.service.core import UpscaleService
    from backend.service.jobs import Job

# The method label takes these values only: any other token a client sends (HTTP allows any,
# and uvicorn's h11 parser passes them through) would start new series, and a scraper's memory
# and /metrics grow with every one (a cardinality attack that needs no API key).
_METHOD_LABELS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_INFERENCE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs = Counter("upscale_jobs", "Finished upscale jobs by outcome", ["state"], registry=self.registry)
        self.inference = Histogram(
            "upscale_inference_seconds",
            "Time a worker spent on one image (model, tiles, encode)",
            ["model", "device"],
            buckets=_INFERENCE_BUCKETS,
            registry=self.registry,
        )
        self.tiles = Counter("upscale_tiles", "Tiles computed", ["model", "device"], registry=self.registry)
        self.tiles_per_second = Gauge(
            "upscale_tiles_per_second", "Tile throughput of the last job", ["model", "device"], registry=self.registry
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHOD_LABELS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_job(self, job: Job) -> None:
        snap = job.snapshot()
        self.jobs.labels(snap.state.value).inc()
        seconds = snap.process_seconds
        if seconds is None or snap.model is None or snap.device is None:
            return
        self.inference.labels(snap.model, snap.device).observe(seconds)
        if snap.tiles_done:
            self.tiles.labels(snap.model, snap.device).inc(snap.tiles_done)
            if seconds > 0:
                self.tiles_per_second.labels(snap.model, snap.device).set(snap.tiles_done / seconds)

    def watch(self, service: UpscaleService) -> None:
        """Read live values (queue, readiness, device memory) at scrape time."""
        self.registry.register(_LiveCollector(service))
        service.scheduler.add_listener(self.observe_job)


class _LiveCollector(Collector):
    def __init__(self, service: UpscaleService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        scheduler = self.service.scheduler
        yield GaugeMetricFamily("upscale_queue_depth", "Jobs waiting in the queue", value=scheduler.depth)
        yield GaugeMetricFamily("upscale_queue_capacity", "Queue size limit", value=scheduler.capacity)
        yield GaugeMetricFamily("upscale_jobs_running", "Jobs being computed", value=scheduler.running)
        yield GaugeMetricFamily("upscale_jobs_stored", "Jobs held for the jobs API", value=len(self.service.store))
        yield GaugeMetricFamily(
            "upscale_model_ready", "1 once the default model is warm", value=int(self.service.readiness.ready)
        )
        passes = CounterMetricFamily(
            "upscale_forward_passes",
            "Forward passes by model; shared = the pass held tiles of several jobs",
            labels=["model", "shared"],
        )
        for name, stats in self.service.manager.batch_stats().items():
            passes.add_metric([name, "true"], stats.combined_passes)
            passes.add_metric([name, "false"], stats.passes - stats.combined_passes)
        yield passes
        device = self.service.manager.device
        memory = GaugeMetricFamily("upscale_device_memory_bytes", "Device memory by kind", labels=["device", "kind"])
        try:
            values = device.memory() or {}
        except Exception:  # a driver hiccup must not break the scrape
            values = {}
        for kind, value in values.items():
            memory.add_metric([f"{device.type}:{device.index or 0}", kind], float(value))
        yield memory
