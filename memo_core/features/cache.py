"""On-disk feature cache, and :func:`extract`, the cached way to get features.

An entry is one ``.npy`` file at
``<MEMO_CACHE_DIR>/<extractor name>/<key[:2]>/<key>.npy`` where the key is the
SHA-256 of the audio's content hash and the extractor's :meth:`spec` (name,
parameters, code version, openSMILE/librosa/numpy/scipy/soxr versions): changing any
of them misses the cache instead of returning stale features. The folder is
``$MEMO_CACHE_DIR``, else ``~/.cache/memo/features``.

Entries are written atomically (temp file in the same folder, then
``os.replace``), so a crash never leaves half a file under a real name. An entry
that cannot be read, or has the wrong dtype, shape or non-finite values, is
recomputed and overwritten with a :class:`CacheWarning`. A cache that cannot be
written (read-only folder, full disk) only warns: extraction still returns the
features.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from memo_core.audio import Audio
from memo_core.errors import FeatureError
from memo_core.features.base import FeatureExtractor, get_extractor

__all__ = ["CacheWarning", "cache_dir", "cache_key", "cache_path", "extract", "load_cached", "save_cached"]

CACHE_ENV = "MEMO_CACHE_DIR"


class CacheWarning(UserWarning):
    """The feature cache could not be written, or held a bad entry that is recomputed; extraction went on."""


def cache_dir() -> Path:
    """The cache folder: ``$MEMO_CACHE_DIR`` or ``~/.cache/memo/features``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "memo" / "features"


def cache_key(audio: Audio, extractor: FeatureExtractor) -> str:
    """SHA-256 hex key of this audio's content and this extractor's spec."""
    payload = json.dumps({"audio": audio.content_hash(), "spec": extractor.spec()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def cache_path(audio: Audio, extractor: FeatureExtractor) -> Path:
    """Where the features of ``audio`` by ``extractor`` are (or would be) cached."""
    key = cache_key(audio, extractor)
    return cache_dir() / extractor.name / key[:2] / f"{key}.npy"


def load_cached(audio: Audio, extractor: FeatureExtractor) -> np.ndarray | None:
    """The cached features, or ``None`` when absent or not trustworthy. [shape=(n_frames, n_features)]

    A present but bad entry (unreadable, or of the wrong dtype, shape or with
    non-finite values) warns with :class:`CacheWarning`; the caller recomputes it.
    """
    path = cache_path(audio, extractor)
    if not path.is_file():
        return None
    try:
        values = np.load(path, allow_pickle=False)
    except Exception:  # truncated or garbage file: recompute
        return _bad_entry(path, "it cannot be read")
    expected_rows = extractor.n_frames_for(audio)
    expected_shape = f"({'n' if expected_rows is None else expected_rows}, {extractor.n_features})"
    if not isinstance(values, np.ndarray) or values.dtype != np.float32:
        return _bad_entry(path, f"it holds {getattr(values, 'dtype', type(values).__name__)}, not float32")
    if (
        values.ndim != 2
        or values.shape[1] != extractor.n_features
        or (expected_rows is not None and values.shape[0] != expected_rows)
    ):
        return _bad_entry(path, f"it has shape {values.shape}, expected {expected_shape}")
    if not np.all(np.isfinite(values)):
        return _bad_entry(path, "it holds NaN or infinite values")
    return values


def _bad_entry(path: Path, why: str) -> None:
    warnings.warn(f"Feature cache entry {path} is damaged ({why}); recomputing it.", CacheWarning, stacklevel=4)
    return None


def save_cached(audio: Audio, extractor: FeatureExtractor, values: np.ndarray) -> Path | None:
    """Write ``values`` atomically; warn (:class:`CacheWarning`) and return ``None`` when that fails."""
    path = cache_path(audio, extractor)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-", suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, values, allow_pickle=False)
        os.replace(tmp, path)
        return path
    except OSError as exc:
        warnings.warn(
            f"Could not write the feature cache at {path.parent} ({exc.strerror or exc}); features were computed "
            f"but not cached. Set {CACHE_ENV} to a writable folder to cache them.",
            CacheWarning,
            stacklevel=3,
        )
        if tmp is not None and os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return None


def extract(audio: Audio, name: str, *, cache: bool = True, **params: Any) -> np.ndarray:
    """Features of ``audio`` by the extractor ``name``, from the on-disk cache when present.

    Args:
        audio: the signal.
        name: a name from :func:`~memo_core.features.list_features`.
        cache: read and write the on-disk cache (``False`` always computes).
        **params: the extractor's parameters.

    Returns:
        Finite float32 features. [shape=(n_frames, n_features)]

    Raises:
        FeatureError: unknown name or parameter, not an Audio, or the extraction failed.
    """
    extractor = get_extractor(name, **params)
    if not isinstance(audio, Audio):
        raise FeatureError(f"extract needs an Audio record, got {type(audio).__name__}. Load the file with memo_core.audio.load_audio.")
    if not cache:
        return extractor.compute(audio)
    values = load_cached(audio, extractor)
    if values is None:
        values = extractor.compute(audio)
        save_cached(audio, extractor, values)
    return values
