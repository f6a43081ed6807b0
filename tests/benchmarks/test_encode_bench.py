"""`python -m bench.encode` runs, checks both PNGs decode to the photo, and pairs its ratios."""

import json

from bench import encode


def test_the_encode_bench_reports_paired_ratios_and_sizes(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(encode, "RESULTS", tmp_path)
    rows = encode.main(["--sizes", "96", "--levels", "1,6", "--rounds", "4"])
    assert [(row["size"], row["level"]) for row in rows] == [(96, 1), (96, 6)]
    for row in rows:
        assert row["ours_s"] > 0 and row["pillow_s"] > 0 and row["ratio"] > 0
        assert 0.8 < row["ours_bytes"] / row["pillow_bytes"] < 1.2
    assert json.loads((tmp_path / "encode.json").read_text())["rows"] == rows
