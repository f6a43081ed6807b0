"""Ratios of two peers' times, paired round by round.

On a shared box the load drifts between rounds, and every peer in a round sees about the same
load, so the ratio of the two times from one round moves much less than either time does. The
median of these per-round ratios, with its quartiles, is what the report quotes.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Ratio:
    median: float
    low: float  # first quartile of the per-round ratios (the median itself when too few rounds)
    high: float  # third quartile
    rounds: int  # 0: the rows had no per-round samples, so this is the ratio of their medians

    def text(self) -> str:
        if self.rounds < 4:
            return f"{self.median:.2f}"
        return f"{self.median:.2f} ({self.low:.2f}–{self.high:.2f})"


def samples(row: dict, clock: str) -> dict[int, float]:
    """round -> seconds on `clock` ("cpu" or "wall"); empty for rows saved before rounds were."""
    times = row.get("cpus" if clock == "cpu" else "walls")
    rounds = row.get("rounds")
    if not times or not rounds or len(times) != len(rounds):
        return {}
    return dict(zip(rounds, times, strict=True))


def paired_ratio(ours: dict, peer: dict, clock: str) -> Ratio:
    """ours ÷ peer: per-round ratios where both have the round, else the ratio of the medians."""
    mine, theirs = samples(ours, clock), samples(peer, clock)
    common = sorted(mine.keys() & theirs.keys())
    if not common:
        value = ours["time_s"] / peer["time_s"]
        return Ratio(value, value, value, 0)
    ratios = [mine[r] / theirs[r] for r in common]
    middle = statistics.median(ratios)
    if len(ratios) < 4:
        return Ratio(middle, middle, middle, len(ratios))
    low, _, high = statistics.quantiles(ratios, n=4)
    return Ratio(middle, low, high, len(ratios))
