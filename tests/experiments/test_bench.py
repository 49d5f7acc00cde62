"""The model benchmark: its sections' rows on tiny inputs, the targets table, the JSON report, the command."""

from __future__ import annotations

import argparse
import json
import warnings

import pytest

from memo_core.cli.experiments import cmd_bench as run_cli
from memo_core.cli.parser import BENCH_SECTIONS, build_parser
from memo_core.experiments.bench import (
    SECTIONS,
    TARGETS,
    bench_analysis,
    bench_inference,
    bench_training,
    format_report,
    format_section,
    run_benchmark,
    target_rows,
    write_json,
)
from tests._helpers import make_checkpoint_set

KEYS = ["at", "vggish_sa3"]  # a per-frame model and a tagger


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    return make_checkpoint_set(tmp_path_factory.mktemp("bench-set"), keys=KEYS)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["bench", *argv])


def test_the_parser_offers_the_benchmarks_sections():
    assert BENCH_SECTIONS == SECTIONS  # the parser keeps its own copy so that --help need not load the benchmark


def test_feature_rows():
    rows = run_benchmark(sections=("features",), feature_durations=(2.0,), feature_names=["mel96"])["features"]
    assert len(rows) == 1 and rows[0]["feature"] == "mel96" and rows[0]["duration_s"] == 2.0
    assert {"cold_s", "cached_s", "x_realtime_cold", "x_realtime_cached"} <= set(rows[0])
    assert "x realtime cached" in format_section("features", rows)


def test_inference_rows(tiny_set):
    rows = bench_inference(tiny_set, song_durations=(2.0, 4.0), repeats=1)
    assert [r["checkpoint"] for r in rows] == KEYS
    for r in rows:
        assert {"model", "preset", "features", "n_parameters", "load_s", "forward_2s_s", "forward_4s_s",
                "forward_2s_default_threads_s", "forward_4s_default_threads_s"} <= set(r)
        assert "problem" not in r and r["load_s"] > 0 and r["forward_2s_s"] > 0 and r["forward_4s_s"] > 0
    assert "forward 4 s (s)" in format_section("inference", rows)


@pytest.mark.slow  # 3 s: a fresh Python process
def test_analysis_rows_come_from_a_fresh_process(tiny_set):
    rows = bench_analysis(tiny_set, song_durations=(2.0,), keys=["at"])
    assert len(rows) == 1 and "error" not in rows[0], rows[0].get("error")
    r = rows[0]
    assert r["duration_s"] == 2.0 and r["n_checkpoints"] == 1 and not r["problems"]
    assert r["served_from_cache"] == 1  # the second run is a cache hit
    assert 0 < r["cached_s"] < r["cold_s"] and r["peak_rss_mb"] >= r["rss_before_mb"] > 0
    assert set(r["steps"]) == {"features deam260", "model at"}
    assert "Analyse a song" in format_section("analysis", rows)


def test_training_rows_at_the_models_batch_size(tiny_set):
    rows = bench_training(folder=tiny_set, keys=["at"], steps=1, warmup=0)
    assert [r["checkpoint"] for r in rows] == ["at"] and "problem" not in rows[0]
    assert rows[0]["batch_size"] == 20 and rows[0]["input_shape"] == [20, 90, 260]  # AT's paper batch, 45 s songs
    rows = bench_training(folder=tiny_set, keys=["vggish_sa3"], steps=1, warmup=0, batch_size=2)
    assert rows[0]["input_shape"] == [2, 160, 96] and "problem" not in rows[0]  # the small tagger's input
    rows = bench_training(keys=["at_chroma"], steps=1, warmup=0, batch_size=2)  # no folder: sized from DEFAULT_SET
    assert rows[0]["input_shape"] == [2, 90, 24] and rows[0]["step_s"] > 0 and "problem" not in rows[0]


def test_targets_show_met_and_missed():
    fast = {"duration_s": 45.0, "cold_s": 6.0, "cached_s": 1.5, "peak_rss_mb": 900.0}
    slow = {"duration_s": 240.0, "cold_s": 42.0, "cached_s": 0.4, "peak_rss_mb": 1200.0}
    rows = target_rows([fast, slow])
    assert [r["met"] for r in rows] == [True, False, False, False, True]  # ratio 7 > 1.2 * 240 / 45 = 6.4
    assert rows[3]["measured"] == pytest.approx(7.0)
    slow["cold_s"] = 28.0
    assert [r["met"] for r in target_rows([fast, slow])] == [True, False, True, True, True]
    table = format_section("targets", rows)
    assert "MISSED" in table and "met" in table and "< 30 s" in table
    assert [r["met"] for r in target_rows([fast])] == [True, False, None, None, True]  # no 4 min song
    assert "not measured" in format_section("targets", target_rows([fast]))
    only_long = target_rows([dict(slow, duration_s=600.0)])  # one long song: only its own targets
    assert [r["met"] for r in only_long] == [None, None, True, None, True] and "600 s" in only_long[2]["target"]
    at_limit = target_rows([dict(fast, peak_rss_mb=TARGETS["peak_rss_mb"])])[4]  # the peak must stay below it
    assert at_limit["met"] is False and at_limit["goal"] == f"< {TARGETS['peak_rss_mb']:g} MB"


def test_json_is_written_atomically(tmp_path):
    path = tmp_path / "out" / "bench.json"
    write_json({"a": 1.5}, path)
    assert json.loads(path.read_text()) == {"a": 1.5}
    with pytest.raises(TypeError):
        write_json({"a": object()}, path)  # fails half way through
    assert json.loads(path.read_text()) == {"a": 1.5}  # the previous report is intact
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]  # and no temp file is left


def test_the_command_prints_tables_and_writes_json(tiny_set, tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = parse("-q", "--sections", "features,inference", "--durations", "2", "--features", "mel96",
                 "--song-durations", "2", "--checkpoints", str(tiny_set), "--json", str(out))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run_cli(args) == 0
    text = capsys.readouterr().out
    assert "Feature extraction" in text and "Inference per checkpoint" in text and "load average" in text
    report = json.loads(out.read_text())
    assert report["format"] == "memo-bench" and [r["checkpoint"] for r in report["inference"]] == KEYS
    assert report["features"][0]["feature"] == "mel96" and "analysis" not in report
    assert "Inference per checkpoint" in format_report(report)

    args = parse("-q", "--sections", "inference", "--checkpoints", str(tmp_path / "empty"))
    assert run_cli(args) == 0
    assert "no manifest.json" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parse("--sections", "features,nonsense")


@pytest.mark.parametrize("option", ["--torch-threads", "--workers"])
@pytest.mark.parametrize("value", ["-2", "0", "two"])
def test_the_command_refuses_counts_below_one(option, value, capsys):
    from memo_core.cli.parser import main

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--sections", "features", option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: expected a positive whole number, got '{value}'" in capsys.readouterr().err
    assert parse(option, "3").__dict__[option[2:].replace("-", "_")] == 3
