"""The benchmark's ratios pair each round's times, so load drift between rounds cancels."""

from bench.stats import paired_ratio


def _row(times: list[float]) -> dict:
    return {"cpus": times, "walls": times, "rounds": list(range(len(times))), "time_s": sorted(times)[len(times) // 2]}


def test_a_steady_ratio_survives_load_that_drifts_between_rounds() -> None:
    load = [1.0, 3.0, 1.5, 2.5, 1.2, 2.8, 1.1]  # the box slows everyone down by up to 3x
    ours = _row([0.9 * x for x in load])
    peer = _row(list(load))

    ratio = paired_ratio(ours, peer, "cpu")

    assert abs(ratio.median - 0.9) < 1e-9
    assert abs(ratio.low - 0.9) < 1e-9 and abs(ratio.high - 0.9) < 1e-9
    assert ratio.text() == "0.90 (0.90–0.90)"


def test_only_rounds_both_peers_finished_are_paired() -> None:
    ours = {"cpus": [1.0, 2.0, 4.0], "rounds": [0, 1, 2], "time_s": 2.0}
    peer = {"cpus": [2.0, 8.0], "rounds": [1, 2], "time_s": 5.0}  # round 0's reply was lost

    assert paired_ratio(ours, peer, "cpu").median == 0.75  # median of 2/2 and 4/8


def test_rows_saved_before_rounds_fall_back_to_the_ratio_of_medians() -> None:
    ratio = paired_ratio({"time_s": 3.0}, {"time_s": 4.0}, "wall")

    assert ratio.rounds == 0
    assert ratio.text() == "0.75"
