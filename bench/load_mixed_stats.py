"""What the mixed clients saw: answers counted by (method, route template, status), latencies, problems."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import numpy as np


@dataclass
class MixedStats:
    """What the clients saw: counts by (method, route template, status), latencies, problems."""

    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    scenarios: dict[str, int] = field(default_factory=dict)
    jobs_seen: int = 0  # jobs the clients know were queued: 200 upscales, batch files done, 202 jobs

    def add(self, method: str, route: str, status: int | str, seconds: float | None = None) -> None:
        key = (method, route, str(status))
        self.counts[key] = self.counts.get(key, 0) + 1
        if seconds is not None and status in (200, 202):
            self.latencies.setdefault(f"{method} {route}", []).append(seconds)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def by_status(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, _, status), n in self.counts.items():
            out[status] = out.get(status, 0) + n
        return dict(sorted(out.items()))

    def summary(self) -> dict:
        lat = {
            name: {
                "n": len(v),
                "p50_s": round(statistics.median(v), 4),
                "p95_s": round(float(np.percentile(v, 95)), 4),
            }
            for name, v in sorted(self.latencies.items())
        }
        return {
            "requests": sum(self.counts.values()),
            "jobs_seen": self.jobs_seen,
            "by_status": self.by_status(),
            "scenarios": dict(sorted(self.scenarios.items())),
            "latency": lat,
            "problems": self.problems[:50],
            "problem_count": len(self.problems),
        }
