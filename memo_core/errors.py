"""MEMO's exceptions: one base class, a few subclasses a user can act on.

Every error raised for bad input says what is wrong and what to do about it, so
the CLI and the dashboard can show ``str(error)`` instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "MemoError",
    "AudioError",
    "FeatureError",
    "DatasetError",
    "MetricError",
    "CheckpointError",
]


class MemoError(Exception):
    """Base class of every error MEMO raises on purpose."""


class AudioError(MemoError):
    """The audio could not be used: not audio, corrupt, empty, too short or too long."""


class FeatureError(MemoError):
    """A feature extractor was unknown, misconfigured or failed on the audio."""


class DatasetError(MemoError):
    """A dataset folder is missing, has the wrong layout or unreadable files."""


class MetricError(MemoError):
    """A metric was given inputs of the wrong shape, length or content."""


class CheckpointError(MemoError):
    """A file is not a MEMO checkpoint, is damaged, or does not fit the model or features asked for."""
