"""Shared helpers for the dashboard's AppTests: open a page on the tiny corpus, upload generated audio.

Checkpoints: ``corpus_env`` points the app (``MEMO_CHECKPOINTS_DIR``) at a copy of a few shipped checkpoints,
:data:`tests.dashboard._helpers.DEFAULT_CHECKPOINT_KEYS` unless the test module sets ``CHECKPOINT_KEYS`` (the
keys its pages need; ``None``: the whole shipped ``checkpoints/``, for tests of the set itself).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests._helpers import REPO
from tests.dashboard._helpers import DEFAULT_CHECKPOINT_KEYS, REAL_KEYS, copy_checkpoint_subset

SHIPPED = REPO / "checkpoints"


@pytest.fixture(scope="session")
def checkpoint_subsets(tmp_path_factory) -> Callable[[tuple[str, ...]], Path]:
    """``get(keys)``: a folder with just those shipped checkpoints and their manifest entries, made once per
    key set and session (read-only: a test that changes a set copies it, as ``manifest_with`` does)."""
    made: dict[tuple[str, ...], Path] = {}

    def get(keys: tuple[str, ...]) -> Path:
        keys = tuple(keys)
        if keys not in made:
            made[keys] = copy_checkpoint_subset(SHIPPED, tmp_path_factory.mktemp("checkpoints-" + "-".join(keys)[:60]),
                                                keys)
        return made[keys]

    return get


@pytest.fixture
def checkpoint_keys(request) -> tuple[str, ...] | None:
    """The shipped checkpoints this test's app gets: its module's ``CHECKPOINT_KEYS`` (``None``: all of them),
    else :data:`~tests.dashboard._helpers.DEFAULT_CHECKPOINT_KEYS`."""
    return getattr(request.module, "CHECKPOINT_KEYS", DEFAULT_CHECKPOINT_KEYS)


@pytest.fixture
def checkpoint_set(checkpoint_keys, checkpoint_subsets, monkeypatch) -> Path:
    """The app pointed (``MEMO_CHECKPOINTS_DIR``) at the test's checkpoints; the folder."""
    if checkpoint_keys is None:
        monkeypatch.delenv("MEMO_CHECKPOINTS_DIR", raising=False)  # the shipped checkpoints/ itself
        return SHIPPED
    folder = checkpoint_subsets(checkpoint_keys)
    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(folder))
    return folder


@pytest.fixture
def corpus_env(tiny_corpus, checkpoint_set, monkeypatch):
    """The app pointed at the 4-song tiny corpus and the test's checkpoints (``checkpoint_set``), with the free
    dataset path field allowed."""
    monkeypatch.setenv("MEMO_DATA_DIR", str(tiny_corpus))
    monkeypatch.delenv("MEMO_DATASET_ROOTS", raising=False)
    return tiny_corpus



@pytest.fixture
def manifest_with(checkpoint_set, tmp_path, monkeypatch) -> Callable[[Mapping[str, Mapping[str, Any]]], list[dict]]:
    """The app pointed at a copy of the test's checkpoints (``checkpoint_set``) whose manifest a test writes.

    Call the returned function with ``{key: {manifest key: value}}``: every entry loses :data:`REAL_KEYS`,
    then gets the values given for its key (anything JSON can hold, malformed on purpose or not); the
    dashboard's checkpoint and manifest caches are cleared so the next run reads it. Call it again to
    rewrite the manifest. Returns the entries written.
    """
    from dashboard import resources

    folder = tmp_path / "ckpts"
    shutil.copytree(checkpoint_set, folder)
    shipped = json.loads((folder / "manifest.json").read_text())
    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(folder))

    def write(updates: Mapping[str, Mapping[str, Any]]) -> list[dict]:
        manifest = json.loads(json.dumps(shipped))
        for entry in manifest["checkpoints"]:
            for key in REAL_KEYS:
                entry.pop(key, None)
            entry.update(updates.get(entry["key"], {}))
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        resources.checkpoints.clear()
        resources.manifest_entries.clear()
        return manifest["checkpoints"]

    yield write
    resources.checkpoints.clear()
    resources.manifest_entries.clear()

