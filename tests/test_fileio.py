"""memo_core.fileio.atomic_write: content in place, or the previous file untouched."""

import json

import numpy as np
import pytest

from memo_core.fileio import atomic_write


def test_writes_text_and_creates_the_folder(tmp_path):
    path = tmp_path / "a" / "b" / "report.json"
    assert atomic_write(path, lambda h: json.dump({"x": 1}, h)) == path
    assert json.loads(path.read_text()) == {"x": 1}
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temp file left


def test_binary_mode_takes_numpy_writers(tmp_path):
    path = tmp_path / "x.npy"
    atomic_write(path, lambda h: np.save(h, np.arange(3)), binary=True, fsync=True)
    np.testing.assert_array_equal(np.load(path), np.arange(3))


def test_a_failing_write_leaves_the_previous_file_and_no_temp(tmp_path):
    path = tmp_path / "table.md"
    path.write_text("previous")

    def broken(handle):
        handle.write("half a ")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        atomic_write(path, broken)
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]


def test_a_failing_first_write_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        atomic_write(tmp_path / "new.csv", lambda h: (_ for _ in ()).throw(ValueError("bad")))
    assert list(tmp_path.iterdir()) == []
