"""``python -m memo_core library analyse | query | export`` against a running Dask scheduler."""

from __future__ import annotations

import pandas as pd
import pytest

from memo_core.cli.parser import main
from memo_core.experiments.library import store
from memo_core.experiments.library.bench import generate_collection


@pytest.fixture(scope="module")
def cli_library(tmp_path_factory, dask_client):
    """Two 3 s songs (one of them listed in a text file too) analysed with `library analyse --scheduler`."""
    root = tmp_path_factory.mktemp("cli-library")
    generate_collection(root / "songs", n_songs=2, duration_s=3.0, seed=9)
    listing = root / "picks.txt"
    listing.write_text("songs/song001.wav\n")
    out = root / "library"
    argv = ["library", "analyse", str(root / "songs"), str(listing), "--out", str(out), "--checkpoints", "mca",
            "--scheduler", dask_client.scheduler.address, "-q"]
    return root, out, argv


def test_analyse_then_query_then_export(cli_library, capsys):
    root, out, argv = cli_library
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "2 files, 2 distinct songs: 2 analysed, 0 already done, 0 failed" in printed
    assert main(argv) == 0
    assert "2 files, 2 distinct songs: 0 analysed, 2 already done, 0 failed" in capsys.readouterr().out
    assert main(["library", "query", str(out), "SELECT name, n_frames FROM songs ORDER BY name"]) == 0
    shown = capsys.readouterr().out.split()
    assert shown == ["name", "n_frames", "song000.wav", "6", "song001.wav", "6"]
    assert main(["library", "query", str(out), "SELECT count(*) AS n FROM frames", "--csv",
                 str(root / "n.csv")]) == 0
    assert pd.read_csv(root / "n.csv")["n"].tolist() == [12]
    assert main(["library", "export", str(out), "--out", str(root / "csv"), "--no-frames"]) == 0
    exported = pd.read_csv(root / "csv" / "songs.csv")
    assert exported["song_id"].tolist() == store.open_library(out).songs()["song_id"].tolist()
    assert not (root / "csv" / "frames.csv").exists()


def test_bad_input_gets_a_message_not_a_traceback(cli_library, tmp_path, capsys):
    root, out, _ = cli_library
    assert main(["library", "query", str(tmp_path), "SELECT 1"]) == 2
    assert "is not a MEMO library" in capsys.readouterr().err
    assert main(["library", "analyse", str(root / "songs"), "--out", str(tmp_path / "x"),
                 "--checkpoints", "nope"]) == 2
    assert "no checkpoint nope" in capsys.readouterr().err
    assert main(["library", "analyse", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["library"]) == 2
    assert "give a library command" in capsys.readouterr().err
