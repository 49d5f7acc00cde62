"""openSMILE feature sets over 500 ms windows: ``deam260`` and ``compare6373``.

Both come from the ComParE 2016 low-level descriptors (LLDs, 10 ms hop) fed
to ``cFunctionals`` components in ``frameMode = fixed`` with 0.5 s windows,
so openSMILE itself summarises each 500 ms window (about 3x faster than
extracting LLDs and deltas in two passes and pooling in pandas).

- ``deam260``: the MediaEval 2015 / DEAM baseline set (Aljanaki et al. 2017):
  mean and standard deviation of the 65 ComParE LLDs and of their 65 deltas,
  ``4 * 65 = 260`` values per window.
- ``compare6373``: the full ComParE 2016 functionals (6373) per window, as used
  by Chaki et al. 2020.

The LLDs are nine tenths of the cost, and both sets start from the same ones:
inside :func:`one_pass` (as :func:`~memo_core.explain.analysis.analyse_song` runs
them), the first of the two extracted from an audio computes both in ONE
openSMILE pass, with one sink a set, and keeps the other for the next
extraction of that audio (the values are identical to two separate passes).

Audio is resampled to 44.1 kHz (DEAM's rate) unless ``sample_rate`` is given,
and zero-padded at the end to ``n_frames * 0.5`` s so the last partial window
counts: a 30 s clip gives 60 rows. openSMILE is driven through its C API
(``opensmile.core.lib.OpenSMILE``) rather than ``opensmile.Smile``, so the
signal goes in as 16-bit PCM converted 10 s at a time instead of the three
whole-signal copies ``Smile`` makes (about 300 MB for a 10 min song).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from memo_core.audio import FRAME_SECONDS, Audio
from memo_core.errors import FeatureError
from memo_core.features.base import FeatureExtractor, fit_rows, register_feature

__all__ = ["Deam260", "Compare6373", "clear_intermediates", "one_pass"]

DEFAULT_SAMPLE_RATE = 44_100
KINDS = ("deam260", "compare6373")

# The stock ComParE 2016 LLD graph behind an external 16-bit source, and the two
# concatenations ComParE_2016.conf uses to name its ``lld`` and ``lld_de`` levels.
# {root} is the opensmile package's config folder.
_LLD_CONFIG = r"""
[componentInstances:cComponentManager]
instance[dataMemory].type=cDataMemory
instance[memo_source].type=cExternalAudioSource

[memo_source:cExternalAudioSource]
writer.dmLevel = wave
writer.levelconf.growDyn = 1
writer.levelconf.isRb = 0
sampleRate = \cm[sampleRate{44100}:sample rate]
nBits = 16
channels = 1

\{{root}/compare/ComParE_2016_core.lld.conf.inc}

[componentInstances:cComponentManager]
instance[is13_lldconcat].type=cVectorConcat
instance[is13_llddeconcat].type=cVectorConcat

[is13_lldconcat:cVectorConcat]
reader.dmLevel = is13_lld_nzsmo;is13_lldA_smo;is13_lldB_smo
writer.dmLevel = lld
includeSingleElementFields = 1

[is13_llddeconcat:cVectorConcat]
reader.dmLevel = is13_lld_nzsmo_de;is13_lldA_smo_de;is13_lldB_smo_de
writer.dmLevel = lld_de
includeSingleElementFields = 1
"""

# compare6373: ComParE 2016's own functionals and the concatenation ComParE_2016.conf names ``func``.
_COMPARE_CONFIG = r"""
\{{root}/compare/ComParE_2016_core.func.conf.inc}

[componentInstances:cComponentManager]
instance[is13_funcconcat].type=cVectorConcat

[is13_funcconcat:cVectorConcat]
reader.dmLevel = is13_functionalsA;is13_functionalsB;is13_functionalsNz;is13_functionalsF0;is13_functionalsLLD;is13_functionalsDelta
writer.dmLevel = compare6373
includeSingleElementFields = 1
"""

# deam260: one functionals component, mean and standard deviation of lld and lld_de.
_DEAM_CONFIG = r"""
[componentInstances:cComponentManager]
instance[memo_func].type=cFunctionals

[memo_func:cFunctionals]
reader.dmLevel = lld;lld_de
writer.dmLevel = deam260
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
"""

# One external sink a set, reading the level named after it.
_SINK_CONFIG = r"""
[componentInstances:cComponentManager]
instance[memo_sink_{kind}].type=cExternalSink

[memo_sink_{kind}:cExternalSink]
reader.dmLevel = {kind}
blocksize = 1
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

_SOURCE = "memo_source"
_CHUNK_SECONDS = 10.0  # PCM handed to openSMILE this much at a time

_CONFIGS: dict[tuple[str, ...], tuple[Path, dict[str, str], list[Path]]] = {}
_NAMES: dict[str, list[str]] = {}
_LOCK = threading.Lock()

# Per thread: ``kinds``, the sets of the current one_pass block, and ``kept``, the sets computed
# alongside the one asked for, for that thread's next extraction of the same audio (the latest
# audio only): ``((audio content hash, sample rate), {kind: values})``.
_TOGETHER = threading.local()


def _config_root() -> Path:
    # lazy: openSMILE loads its native library; only computing these features needs it
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


def _config(kinds: tuple[str, ...]) -> tuple[Path, dict[str, str]]:
    """The config file computing ``kinds`` (in :data:`KINDS` order) in one pass, and its options."""
    with _LOCK:
        if kinds in _CONFIGS:
            path, options, files = _CONFIGS[kinds]
            # openSMILE re-reads its config on every run: rebuild if a temp cleaner removed it.
            if all(f.exists() for f in files):
                return path, options
        root = _config_root()
        window = _write_config("memo-window-500ms", _WINDOW_CONFIG)
        parts = [_LLD_CONFIG]
        parts += [_COMPARE_CONFIG] if "compare6373" in kinds else []
        parts += [_DEAM_CONFIG] if "deam260" in kinds else []
        parts += [_SINK_CONFIG.replace("{kind}", kind) for kind in kinds]
        text = "".join(parts).replace("{root}", root.as_posix()).replace("{window}", window.as_posix())
        path = _write_config("memo-" + "-".join(kinds), text)
        # Absolute include paths: the stock configs name them relative to their own folder.
        options = {
            "bufferModeConf": str(root / "shared" / "BufferMode.conf.inc"),
            "bufferModeRbConf": str(root / "shared" / "BufferModeRb.conf.inc"),
            "bufferModeRbLagConf": str(root / "shared" / "BufferModeRbLag.conf.inc"),
            "frameModeFunctionalsConf": str(window),
        }
        _CONFIGS[kinds] = (path, options, [window, path])
        return path, options


def _open(kinds: tuple[str, ...], sample_rate: int) -> Any:
    # lazy: openSMILE loads its native library; only computing these features needs it
    from opensmile.core.lib import OpenSMILE

    path, options = _config(kinds)
    smile = OpenSMILE()
    smile.initialize(config_file=str(path), options={**options, "sampleRate": sample_rate}, loglevel=2)
    return smile


def _pcm_chunks(audio: Audio, n_frames: int, sample_rate: int) -> Iterator[bytes]:
    """The signal as 16-bit PCM bytes, zero-padded to ``n_frames`` windows, a few seconds at a time.

    Values as ``opensmile.Smile`` makes them (float32 times 32768, cast to
    int16), after a clip to [-1, 32767/32768]: openSMILE's cast does not clip,
    so +1.0 would wrap to -32768.
    """
    samples = audio.samples
    total = int(round(n_frames * FRAME_SECONDS * sample_rate))
    step = int(_CHUNK_SECONDS * sample_rate)
    for start in range(0, total, step):
        chunk = np.zeros(min(step, total - start), dtype=np.float32)
        part = samples[start:start + len(chunk)]
        chunk[: len(part)] = part
        np.clip(chunk, -1.0, 32767 / 32768, out=chunk)
        chunk *= np.float32(32768)
        yield chunk.astype(np.int16).tobytes()


def _functionals(kinds: tuple[str, ...], audio: Audio, sample_rate: int) -> dict[str, np.ndarray]:
    """Windowed functionals of ``audio`` for each of ``kinds``, from one openSMILE pass.

    Returns:
        ``{kind: values}``. [shape=(audio.n_frames, n_features)]
    """
    n_frames = audio.n_frames   # before resampling: the count rule is on the input's duration
    audio = audio.resampled(sample_rate)
    rows: dict[str, list[np.ndarray]] = {kind: [] for kind in kinds}
    smile = _open(kinds, sample_rate)
    try:
        for kind in kinds:
            smile.external_sink_set_callback_ex(f"memo_sink_{kind}",
                                                lambda data, meta, out=rows[kind]: out.append(data.copy()))
        for chunk in _pcm_chunks(audio, n_frames, sample_rate):
            if not smile.external_audio_source_write_data(_SOURCE, chunk):  # the wave level grows: never full
                raise FeatureError("openSMILE refused the audio data.")
        smile.external_audio_source_set_eoi(_SOURCE)
        smile.run()
    finally:
        smile.free()
    out = {}
    for kind in kinds:
        values = np.vstack(rows.pop(kind)) if rows[kind] else np.zeros((0, _N_FEATURES[kind]), np.float32)
        out[kind] = fit_rows(values.astype(np.float32, copy=False), n_frames)
    return out


def _feature_names_of(kind: str) -> list[str]:
    with _LOCK:
        if kind in _NAMES:
            return list(_NAMES[kind])
    smile = _open((kind,), DEFAULT_SAMPLE_RATE)
    try:
        sink = f"memo_sink_{kind}"
        count = smile.external_sink_get_num_elements(sink)
        names = [smile.external_sink_get_element_name(sink, i) for i in range(count)]
    finally:
        smile.free()
    with _LOCK:
        _NAMES[kind] = names
    return list(names)


@contextmanager
def one_pass(extractors: Iterable[FeatureExtractor]) -> Iterator[None]:
    """Within this block, this thread's openSMILE extractions share one pass over each audio.

    The first of the given openSMILE extractors to run on an audio computes
    every given openSMILE set with the same sample rate in one pass, and keeps
    the others in this thread's memory for their own extraction of that audio
    (the latest audio only; this thread's :func:`clear_intermediates` drops
    them). Extractors of other families are ignored. Use it when the sets will all be extracted, as
    :func:`~memo_core.explain.analysis.analyse_song` does: a set kept and never asked
    for is wasted time.

    Args:
        extractors: the extractors about to run, e.g. ``deam260`` and ``compare6373``.
    """
    previous = getattr(_TOGETHER, "kinds", frozenset())
    _TOGETHER.kinds = frozenset((e.name, e.params.get("sample_rate")) for e in extractors if e.name in KINDS)
    try:
        yield
    finally:
        _TOGETHER.kinds = previous


def clear_intermediates() -> None:
    """Forget the sets this thread kept for its next extraction of the latest audio (see :func:`one_pass`).

    Other threads' kept sets stay: each thread clears its own at the end of its job.
    """
    _TOGETHER.kept = None


def _run_smile(kind: str, audio: Audio, sample_rate: int) -> np.ndarray:
    """Windowed functionals of ``audio``. [shape=(audio.n_frames, n_features)]"""
    key = (audio.content_hash(), sample_rate)
    kept = getattr(_TOGETHER, "kept", None)
    if kept is not None and kept[0] == key and kind in kept[1]:
        values = kept[1].pop(kind)
        if not kept[1]:
            _TOGETHER.kept = None
        return values
    together = getattr(_TOGETHER, "kinds", frozenset())
    kinds = tuple(k for k in KINDS if k == kind or (k, sample_rate) in together)
    values = _functionals(kinds, audio, sample_rate)
    mine = values.pop(kind)
    if values:
        _TOGETHER.kept = (key, values)
    return mine


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
        for raw in _feature_names_of("deam260"):
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
        return _feature_names_of("compare6373")


_N_FEATURES = {"deam260": Deam260.n_features, "compare6373": Compare6373.n_features}
