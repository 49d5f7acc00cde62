"""The extractor contract and the registry every feature family registers into.

An extractor turns one :class:`~memo_core.audio.Audio` into a float32 matrix
``[shape=(n_frames, n_features)]``. Frame ``i`` starts at ``i * frame_seconds``
seconds: for the 500 ms sets it covers ``[0.5 i, 0.5 i + 0.5)``. A clip yields
``ceil(duration / 0.5)`` such frames; the end is padded with silence, so a 30 s
clip gives exactly 60 frames.

An annotation at time ``t`` describes what was heard in the 500 ms frame that
ENDS at ``t``: :func:`annotation_frame_index` maps 15.0 s to frame 29
(``[14.5, 15.0)``) and 15.5 s to frame 30. Every pairing of annotations with
frames goes through that one function.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from memo_core.audio import FRAME_SECONDS, Audio
from memo_core.errors import FeatureError

__all__ = [
    "FEATURES_VERSION",
    "FeatureExtractor",
    "annotation_frame_index",
    "frame_times",
    "get_extractor",
    "library_versions",
    "list_features",
    "register_feature",
]

#: Bump when any extractor's output changes: it is part of every cache key and
#: every spec, so stale caches and mismatched checkpoints are detected.
FEATURES_VERSION = "1"

_REGISTRY: dict[str, type[FeatureExtractor]] = {}
_T = TypeVar("_T", bound=type)


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose numerics the features depend on (a fresh copy each call)."""
    return dict(_library_versions())


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    # Read once a process: every cache key needs them, and package metadata costs ~10 ms a package.
    versions = {}
    for package in ("opensmile", "librosa", "numpy", "scipy", "soxr"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


class FeatureExtractor:
    """Base class of all extractors.

    Subclasses set :attr:`name` (through :func:`register_feature`),
    :attr:`frame_seconds`, :attr:`n_features`, take their parameters as
    keyword-only ``__init__`` arguments and implement :meth:`_compute` and
    :meth:`_feature_names`.

    Attributes:
        name: the registry key.
        params: the parameters the extractor was built with (JSON-serialisable).
        frame_seconds: the hop between returned frames, in seconds.
        n_features: the number of columns :meth:`compute` returns.
    """

    name: str = ""
    frame_seconds: float = FRAME_SECONDS
    n_features: int = 0

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(sorted(params.items()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    @property
    def feature_names(self) -> list[str]:
        """One name a column, ``len == n_features``."""
        names = self._feature_names()
        if len(names) != self.n_features:  # a library changed its layout under us
            raise FeatureError(f"{self.name}: expected {self.n_features} feature names, got {len(names)}.")
        return names

    def spec(self) -> dict[str, Any]:
        """What a model checkpoint stores to check later features match its training features."""
        return {
            "name": self.name,
            "params": dict(self.params),
            "n_features": self.n_features,
            "frame_seconds": self.frame_seconds,
            "code_version": FEATURES_VERSION,
            "libraries": library_versions(),
        }

    def n_frames_for(self, audio: Audio) -> int | None:
        """Rows :meth:`compute` returns for this audio (``None`` when not known in advance)."""
        return audio.n_frames

    def compute(self, audio: Audio) -> np.ndarray:
        """Extract the features, without the cache.

        Args:
            audio: the signal, at any sample rate: it is resampled to the rate
                the extractor needs.

        Returns:
            Finite float32 features. [shape=(n_frames, n_features)]

        Raises:
            FeatureError: the audio is not an :class:`Audio`, or the extraction failed.
        """
        if not isinstance(audio, Audio):
            raise FeatureError(
                f"{self.name} needs an Audio record, got {type(audio).__name__}. Load the file with memo_core.audio.load_audio."
            )
        try:
            out = self._compute(audio)
        except FeatureError:
            raise
        except Exception as exc:  # library failures become one error the CLI and dashboard can show
            raise FeatureError(f"{self.name} failed on {audio.source}: {type(exc).__name__}: {exc}") from exc
        out = np.asarray(out, dtype=np.float32)
        if out.ndim != 2 or out.shape[1] != self.n_features:
            raise FeatureError(f"{self.name} produced shape {out.shape}, expected (n_frames, {self.n_features}).")
        if not np.all(np.isfinite(out)):
            # Silence gives NaN in some descriptors (e.g. spectral shape of an all-zero frame): 0 is
            # the value those descriptors take on the quietest non-silent input.
            out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        return np.ascontiguousarray(out)

    def _compute(self, audio: Audio) -> np.ndarray:
        raise NotImplementedError

    def _feature_names(self) -> list[str]:
        raise NotImplementedError


def register_feature(name: str) -> Callable[[_T], _T]:
    """Class decorator adding an extractor to the registry under ``name``.

    Raises:
        FeatureError: ``name`` is already registered.
    """

    def decorator(cls: _T) -> _T:
        if name in _REGISTRY:
            raise FeatureError(f"A feature extractor named {name!r} is already registered ({_REGISTRY[name].__name__}).")
        if not (isinstance(cls, type) and issubclass(cls, FeatureExtractor)):
            raise FeatureError(f"register_feature({name!r}) decorates FeatureExtractor subclasses, got {cls!r}.")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def list_features() -> list[str]:
    """The registered extractor names, sorted."""
    return sorted(_REGISTRY)


def get_extractor(name: str, **params: Any) -> FeatureExtractor:
    """Build the extractor registered as ``name``.

    Args:
        name: a name from :func:`list_features`.
        **params: the extractor's keyword parameters (see its class docstring).

    Raises:
        FeatureError: the name is unknown or a parameter is unknown or invalid.
    """
    cls = _REGISTRY.get(name)
    if cls is None:
        raise FeatureError(f"Unknown feature set {name!r}. Known feature sets: {', '.join(list_features())}.")
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise FeatureError(
            f"Feature set {name!r} has no parameter {', '.join(unknown)}. "
            f"Its parameters: {', '.join(accepted) or 'none'}."
        )
    return cls(**params)


def frame_times(n_frames: int, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """START time of each frame, in seconds: frame ``i`` covers ``[i * frame_seconds, (i + 1) * frame_seconds)``.

    Annotations pair with frames through :func:`annotation_frame_index`, not
    through these start times.

    Args:
        n_frames: number of frames.
        frame_seconds: hop between frames (an extractor's ``frame_seconds``).

    Returns:
        Start times. [shape=(n_frames,)]
    """
    if n_frames < 0 or frame_seconds <= 0:
        raise FeatureError(f"frame_times needs n_frames >= 0 and frame_seconds > 0, got {n_frames} and {frame_seconds}.")
    return np.arange(int(n_frames), dtype=np.float64) * float(frame_seconds)


def annotation_frame_index(times_s: np.ndarray, n_frames: int) -> np.ndarray:
    """The 500 ms frame each annotation instant describes: the frame that ENDS at it.

    A rater's value at ``t`` reports what was just heard, so it pairs with the
    frame covering ``[t - 0.5, t)``: index ``ceil(t / 0.5) - 1`` (15.0 s gives
    frame 29, 15.5 s frame 30), clipped to ``[0, n_frames - 1]`` so an instant
    at or past the end of the audio pairs with the last frame.

    Args:
        times_s: annotation instants in seconds. [shape=(n,)]
        n_frames: frames of the song's features (at least 1).

    Returns:
        Frame indices, int64. [shape=(n,)]
    """
    if n_frames < 1:
        raise FeatureError(f"annotation_frame_index needs n_frames >= 1, got {n_frames}.")
    times = np.asarray(times_s, dtype=np.float64)
    index = np.ceil(times / FRAME_SECONDS - 1e-6).astype(np.int64) - 1
    return np.clip(index, 0, int(n_frames) - 1)


def pad_samples(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """``samples`` cut or zero-padded at the end to exactly ``n_samples``. [shape=(n_samples,)]"""
    if len(samples) >= n_samples:
        return samples[:n_samples]
    return np.concatenate([samples, np.zeros(n_samples - len(samples), dtype=samples.dtype)])


def fit_rows(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """``frames`` cut or padded (repeating the last row) to ``n_frames`` rows.

    Libraries disagree by one frame at the end of a signal; repeating the last
    row keeps the count rule without inventing values.
    """
    if len(frames) >= n_frames:
        return frames[:n_frames]
    if len(frames) == 0:
        return np.zeros((n_frames, frames.shape[1]), dtype=frames.dtype)
    return np.concatenate([frames, np.repeat(frames[-1:], n_frames - len(frames), axis=0)])


def pool_frames(frames: np.ndarray, *, per_step: int, n_steps: int) -> np.ndarray:
    """Average consecutive groups of ``per_step`` frames.

    Args:
        frames: frame-level values, frame ``j`` belonging to step ``j // per_step``. [shape=(n, d)]
        per_step: frames a step.
        n_steps: steps to return; missing frames at the end repeat the last one.

    Returns:
        Means. [shape=(n_steps, d)]
    """
    frames = fit_rows(frames, n_steps * per_step)
    return frames.reshape(n_steps, per_step, frames.shape[1]).mean(axis=1)
