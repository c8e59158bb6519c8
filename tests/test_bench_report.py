"""tf_compare's benchmark reporting (never timed assertions: only the report's shape)."""
import numpy as np
import pytest

from tf_compare import bench


def _run(threads, training=None):
    row = {"case": "stem max 3x3/2", "shape": [2, 8, 8, 4], "dtype": "float32", "op": "max",
           "threads": threads, "floor_ms": 1.0, "cypool_ms": 2.0, "cypool_out_ms": 1.5, "tf_ms": 4.0,
           "torch_ms": None, "numpy_ms": 8.0}
    argmax = dict(row, case="stem argmax 3x3/2", op="argmax", cypool_ms=8.0, cypool_out_ms=6.0)
    return {"threads": threads, "bandwidth_gbs": [38.0, 41.0], "results": [row, argmax],
            "training": training}


def test_table_and_summary_show_ratios_and_missing_contenders():
    runs = [_run(1), _run(2, {"shape": [4, 112, 112, 16], "tf.nn_ms": 10.0,
                              "cypool.tf_ms": 12.0})]
    table = bench.format_bench_table(runs)
    assert ("| stem max 3x3/2 (2, 8, 8, 4) float32 | 1 | 1.00 | 2.00 | 1.50 | 4.00 | n/a | 8.00 "
            "| 2.00 | 1.50 | n/a | 0.50 |") in table
    assert table.count("\n") == 5  # header, rule, two rows per run
    lines = bench.summary_lines(runs)
    # all cases 2 and 8 -> 4 (out= 1.5 and 6 -> 3); the forward max/avg ones alone 2
    assert "cypool/floor 4.00 (out= 3.00; forward max/avg 2.00)" in lines[0]
    assert "copy bandwidth 38.0-41.0 GB/s over the cases" in lines[0]
    assert "cypool/TF 1.00" in lines[0]
    assert "cypool/PyTorch nan" in lines[0]
    assert lines[-1].startswith("2 thread(s): Keras training step")
    assert "(1.20x)" in lines[-1]


def test_repeated_runs_merge_to_medians_and_a_range():
    runs = [_run(1), _run(1), _run(1)]
    for run, cypool_ms, floor_ms in zip(runs, (2.0, 3.0, 9.0), (1.0, 2.0, 3.0)):
        run["results"][0] = dict(run["results"][0], cypool_ms=cypool_ms, floor_ms=floor_ms)
    runs[2]["bandwidth_gbs"] = [30.0, 45.0]
    merged = bench.merge_repeats(runs)
    row = merged["results"][0]
    assert (row["cypool_ms"], row["floor_ms"], row["tf_ms"]) == (3.0, 2.0, 4.0)
    assert row["torch_ms"] is None  # missing in every run stays missing
    assert row["cypool_floor_range"] == [1.5, 3.0]  # per run: 2, 1.5, 3
    assert merged["bandwidth_gbs"] == [30.0, 45.0] and merged["repeats"] == 3
    table = bench.format_bench_table([merged])
    assert "| 1.50 (1.50-3.00) |" in table  # 3 / 2: the medians' ratio, then the range
    assert "1 thread(s), medians of 3 runs, copy bandwidth 30.0-45.0 GB/s" in (
        bench.summary_lines([merged])[0])
    assert bench.merge_repeats(runs[:1]) is runs[0]


def test_runs_without_cases_summarise_their_training_step_only():
    training = {"shape": [4, 112, 112, 16], "tf.nn_ms": 10.0, "cypool.tf_ms": 12.0}
    run = dict(_run(1, training), results=[], bandwidth_gbs=None)
    merged = bench.merge_repeats([run, dict(run)])
    assert merged["bandwidth_gbs"] is None and merged["results"] == []
    lines = bench.summary_lines([merged])
    assert len(lines) == 1 and lines[0].startswith("1 thread(s): Keras training step")


def test_repeat_must_be_a_positive_count(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--repeat", "0"])
    assert "--repeat: expected a count >= 1, got 0" in capsys.readouterr().err


def test_training_step_is_timed_for_both_poolings():
    pytest.importorskip("tensorflow", reason="tensorflow not installed: pip install '.[tf]'")
    result = bench.time_training_steps(quick=True, reps=1)
    assert result["shape"][0] == 4
    assert np.isfinite(result["tf.nn_ms"]) and result["tf.nn_ms"] > 0
    assert np.isfinite(result["cypool.tf_ms"]) and result["cypool.tf_ms"] > 0
