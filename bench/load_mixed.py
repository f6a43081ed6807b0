"""The mixed-traffic driver (--mixed): a weighted random mix of every scenario, from many clients at once.

Every request is checked as it returns (bench/load_mixed_client.py); good results are compared byte
for byte with the same input's result taken alone before the load. The scenarios live in
load_mixed_upscales, load_mixed_jobs and load_mixed_odd; the round's checks on the server (gauges,
counters, leaks) in load_mixed_rounds and load_metrics.
"""

from __future__ import annotations

import asyncio
import functools

from bench.load_mixed_jobs import JobScenarios
from bench.load_mixed_odd import OddClientScenarios
from bench.load_mixed_stats import MixedStats
from bench.load_mixed_upscales import UpscaleScenarios

__all__ = ["MixedDriver", "MixedStats"]


class MixedDriver(UpscaleScenarios, JobScenarios, OddClientScenarios):
    """Drives one server with a random mix of scenarios from `clients` concurrent tasks."""

    SCENARIOS = (
        ("sync_upscale", 6),
        ("slow_upscale", 1),
        ("upscale_info", 3),
        ("batch", 2),
        ("job_poll", 3),
        ("job_sse", 3),
        ("job_cancel", 3),
        ("job_result_race", 2),
        ("disconnect_upload", 2),
        ("disconnect_response", 2),
        ("disconnect_sse", 1),
        ("bad_input", 4),
        ("big_upload", 1),
        ("probe", 4),
    )

    @functools.cached_property
    def scenarios(self) -> dict[str, int]:
        """Name -> weight, this driver's own copy: set a weight to 0 to leave a scenario out."""
        return dict(self.SCENARIOS)

    async def round(self, clients: int, scenarios: int, stop: asyncio.Event | None = None) -> None:
        """`scenarios` random scenarios from `clients` tasks; each task stops early once `stop` is set."""
        names = [name for name, weight in self.scenarios.items() for _ in range(weight)]
        plan = [self.random.choice(names) for _ in range(scenarios)]
        queue: asyncio.Queue[str] = asyncio.Queue()
        for name in plan:
            queue.put_nowait(name)

        async def worker() -> None:
            while stop is None or not stop.is_set():
                try:
                    name = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                self.stats.scenarios[name] = self.stats.scenarios.get(name, 0) + 1
                try:
                    await asyncio.wait_for(getattr(self, name)(), self.timeout * 2)
                except asyncio.TimeoutError:
                    self.stats.problem(f"{name}: scenario did not finish in {self.timeout * 2:.0f} s")
                except Exception as exc:  # a check that could not even parse the answer
                    self.stats.problem(f"{name}: {type(exc).__name__}: {exc}")

        await asyncio.gather(*(worker() for _ in range(clients)))
