"""openSMILE feature sets over 500 ms windows: ``deam260`` and ``compare6373``.

Both run ONE openSMILE pass: the ComParE 2016 low-level descriptors (LLDs,
10 ms hop) feed a ``cFunctionals`` component in ``frameMode = fixed`` with
0.5 s windows, so openSMILE itself summarises each 500 ms window (about 3x
faster than extracting LLDs and deltas in two passes and pooling in pandas).

- ``deam260``: the MediaEval 2015 / DEAM baseline set (Aljanaki et al. 2017):
  mean and standard deviation of the 65 ComParE LLDs and of their 65 deltas,
  ``4 * 65 = 260`` values per window.
- ``compare6373``: the full ComParE 2016 functionals (6373) per window, as used
  by Chaki et al. 2020.

Audio is resampled to 44.1 kHz (DEAM's rate) unless ``sample_rate`` is given,
and zero-padded at the end to ``n_frames * 0.5`` s so the last partial window
counts: a 30 s clip gives 60 rows.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import FRAME_SECONDS, Audio
from ..errors import FeatureError
from .base import FeatureExtractor, fit_rows, pad_samples, register_feature

__all__ = ["Deam260", "Compare6373"]

DEFAULT_SAMPLE_RATE = 44_100

# The openSMILE config of deam260: the stock ComParE 2016 LLD graph, the two
# concatenations ComParE_2016.conf uses to name its ``lld`` and ``lld_de``
# levels, and one functionals component over fixed 0.5 s windows in place of
# ComParE's whole-signal functionals. {root} is the opensmile package's config folder.
_DEAM_CONFIG = r"""
[componentInstances:cComponentManager]
instance[dataMemory].type=cDataMemory

\{\cm[source{?}:include external source]}

\{{root}/compare/ComParE_2016_core.lld.conf.inc}

[componentInstances:cComponentManager]
instance[is13_lldconcat].type=cVectorConcat
instance[is13_llddeconcat].type=cVectorConcat
instance[memo_func].type=cFunctionals

[is13_lldconcat:cVectorConcat]
reader.dmLevel = is13_lld_nzsmo;is13_lldA_smo;is13_lldB_smo
writer.dmLevel = lld
includeSingleElementFields = 1

[is13_llddeconcat:cVectorConcat]
reader.dmLevel = is13_lld_nzsmo_de;is13_lldA_smo_de;is13_lldB_smo_de
writer.dmLevel = lld_de
includeSingleElementFields = 1

[memo_func:cFunctionals]
reader.dmLevel = lld;lld_de
writer.dmLevel = func
copyInputName = 1
\{{window}}
functionalsEnabled = Means ; Moments
Means.amean = 1
Means.absmean = 0
Means.qmean = 0
Means.nzamean = 0
Means.nzabsmean = 0
Means.nzqmean = 0
Means.nzgmean = 0
Means.nnz = 0
Means.flatness = 0
Means.posamean = 0
Means.negamean = 0
Means.posqmean = 0
Means.posrqmean = 0
Means.negqmean = 0
Means.negrqmean = 0
Means.rqmean = 0
Means.nzrqmean = 0
Moments.variance = 0
Moments.stddev = 1
Moments.skewness = 0
Moments.kurtosis = 0
Moments.amean = 0

\{\cm[sink{?}:include external sink]}
"""

# Replaces shared/FrameModeFunctionals.conf.inc (frameMode = full: one vector a
# signal). noPostEOIprocessing = 0 keeps the last, partial window.
_WINDOW_CONFIG = f"""
frameMode = fixed
frameSize = {FRAME_SECONDS}
frameStep = {FRAME_SECONDS}
frameCenterSpecial = left
noPostEOIprocessing = 0
"""

_SMILES: dict[str, tuple[Any, list[Path]]] = {}
_LOCK = threading.Lock()


def _config_root() -> Path:
    import opensmile

    return Path(opensmile.__file__).resolve().parent / "core" / "config"


def _write_config(stem: str, text: str) -> Path:
    """Write a generated config once to the temp folder (named by its content, so it is reused)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"memo-opensmile-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{digest}.conf"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    return path


def _smile(kind: str) -> Any:
    """One lazily built ``opensmile.Smile`` per configuration, shared by all extractors."""
    with _LOCK:
        if kind in _SMILES:
            smile, files = _SMILES[kind]
            # openSMILE re-reads its config on every call: rebuild if a temp cleaner removed it.
            if all(f.exists() for f in files):
                return smile
        import opensmile

        root = _config_root()
        window = _write_config("memo-window-500ms", _WINDOW_CONFIG)
        # Absolute include paths: the stock configs name them relative to their own folder.
        options = {
            "bufferModeConf": str(root / "shared" / "BufferMode.conf.inc"),
            "bufferModeRbLagConf": str(root / "shared" / "BufferModeRbLag.conf.inc"),
            "frameModeFunctionalsConf": str(window),
        }
        files = [window]
        if kind == "deam260":
            text = _DEAM_CONFIG.replace("{root}", root.as_posix()).replace("{window}", window.as_posix())
            files.append(_write_config("memo-deam260", text))
            smile = opensmile.Smile(feature_set=str(files[-1]), feature_level="func", options=options)
        elif kind == "compare6373":
            smile = opensmile.Smile(
                feature_set=opensmile.FeatureSet.ComParE_2016,
                feature_level=opensmile.FeatureLevel.Functionals,
                options=options,
            )
        else:  # pragma: no cover - internal
            raise FeatureError(f"No openSMILE configuration named {kind!r}.")
        _SMILES[kind] = (smile, files)
        return smile


def _run_smile(kind: str, audio: Audio, sample_rate: int) -> np.ndarray:
    """Windowed functionals of ``audio``. [shape=(audio.n_frames, n_features)]"""
    n_frames = audio.n_frames   # before resampling: the count rule is on the input's duration
    audio = audio.resampled(sample_rate)
    samples = pad_samples(audio.samples, int(round(n_frames * FRAME_SECONDS * sample_rate)))
    # openSMILE casts to int16 without clipping: +1.0 would wrap to -32768.
    samples = np.clip(samples, -1.0, 32767 / 32768).astype(np.float32)
    values = _smile(kind)(samples[None, :], sample_rate)  # (channels, n_features, n_windows)
    return fit_rows(np.asarray(values[0], dtype=np.float32).T, n_frames)


def _check_rate(name: str, sample_rate: int) -> int:
    if not isinstance(sample_rate, int) or not 8_000 <= sample_rate <= 96_000:
        raise FeatureError(f"{name}: sample_rate must be an integer in 8000..96000 Hz, got {sample_rate!r}.")
    return sample_rate


@register_feature("deam260")
class Deam260(FeatureExtractor):
    """MediaEval 2015 / DEAM baseline: mean and std of 65 ComParE LLDs and their deltas per 500 ms.

    Columns are ``<lld>_mean, <lld>_std`` for each LLD (e.g. ``pcm_RMSenergy_sma_mean``),
    then the same for each delta (``pcm_RMSenergy_sma_de_mean``).

    Args:
        sample_rate: analysis rate in Hz (default 44100, DEAM's rate).
    """

    n_features = 260
    frame_seconds = FRAME_SECONDS

    def __init__(self, *, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        super().__init__(sample_rate=_check_rate("deam260", sample_rate))

    def _compute(self, audio: Audio) -> np.ndarray:
        return _run_smile("deam260", audio, self.params["sample_rate"])

    def _feature_names(self) -> list[str]:
        names = []
        for raw in _smile("deam260").feature_names:
            if raw.endswith("_amean"):
                raw = raw[: -len("_amean")] + "_mean"
            elif raw.endswith("_stddev"):
                raw = raw[: -len("_stddev")] + "_std"
            names.append(raw)
        return names


@register_feature("compare6373")
class Compare6373(FeatureExtractor):
    """openSMILE ComParE 2016 functionals (6373) per 500 ms window (Chaki et al. 2020).

    Args:
        sample_rate: analysis rate in Hz (default 44100).
    """

    n_features = 6373
    frame_seconds = FRAME_SECONDS

    def __init__(self, *, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        super().__init__(sample_rate=_check_rate("compare6373", sample_rate))

    def _compute(self, audio: Audio) -> np.ndarray:
        return _run_smile("compare6373", audio, self.params["sample_rate"])

    def _feature_names(self) -> list[str]:
        return list(_smile("compare6373").feature_names)
