"""memo_core.fileio.atomic_write: content in place, or the previous file untouched."""

import json
import os
import stat
import time
from pathlib import Path

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


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_honour_the_umask_not_mkstemps_private_mode(tmp_path, umask):
    """A service user reading the checkpoints and outputs another user wrote needs the umask's mode, as open() gives."""
    old = os.umask(umask)
    try:
        text = atomic_write(tmp_path / "out.csv", lambda h: h.write("a\n"))
        binary = atomic_write(tmp_path / "x.npy", lambda h: np.save(h, np.arange(2)), binary=True)
        with open(tmp_path / "plain.txt", "w") as handle:  # what a plain write gives, for comparison
            handle.write("a")
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == expected
    assert stat.S_IMODE(text.stat().st_mode) == expected and stat.S_IMODE(binary.stat().st_mode) == expected


def test_a_killed_writers_stale_temps_are_removed_by_the_next_write_to_the_folder(tmp_path):
    old = time.time() - 2 * 3600  # well past memo_core.fileio.STALE_TEMP_SECONDS (30 min)

    def make(name: str, *, age: float | None = old) -> Path:
        path = tmp_path / name
        path.write_text("half a file")
        if age is not None:
            os.utime(path, (age, age))
        return path

    stale = make(".report.json.ab_cd123.tmp")  # what mkstemp names a temp of report.json
    stale_other = make(".model.pt.zz9y8x7w.tmp")  # any file's temp in the same folder
    fresh = make(".report.json.k2j3h4g5.tmp", age=time.time() - 60)  # a writer at work now
    theirs = [make(n) for n in (".notes.tmp", "keep.tmp", ".x.abcdefg.tmp", ".x.ABCDEFGH.tmp", ".x.abcdefgh.tmp.bak",
                                "x.abcdefgh.tmp")]  # not our naming
    folder = tmp_path / ".d.abcdefgh.tmp"
    folder.mkdir()
    os.utime(folder, (old, old))
    link = tmp_path / ".l.abcdefgh.tmp"
    link.symlink_to(theirs[0])
    os.utime(link, (old, old), follow_symlinks=False)

    atomic_write(tmp_path / "table.md", lambda h: h.write("| a |\n"))
    assert not stale.exists() and not stale_other.exists()
    assert fresh.exists() and all(p.exists() for p in theirs) and folder.is_dir() and link.is_symlink()
    assert (tmp_path / "table.md").read_text() == "| a |\n"
