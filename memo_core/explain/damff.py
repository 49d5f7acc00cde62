"""DAMFF's maps arranged for display (Zhang et al. 2023).

The per-step maps ``spatial_attention`` and ``fusion_gate`` [shape=(n_steps, n_rows, n_cols)] (rows: groups
of the model's 128 mel bands, low to high, their centre frequencies in the ``mel_hz`` axis at the checkpoint's
own sample rate; columns: time within the 500 ms step) unfolded into ONE image
[shape=(n_rows, n_steps * n_cols)] on the song's time axis, with each row's frequency in Hz
(:func:`unfold_step_map`, :func:`damff_row_hz`, :func:`row_edges_hz`, :func:`unfold_damff`), placed on a display log-mel's band
axis (:func:`bands_on_view`); one step's map and log-mel block (:func:`damff_step`, :func:`logmel_between`);
the share of branch A per step (:func:`gate_share`); DAMFF's ablations and architectures, which checkpoints
have them and how to train the others (:func:`damff_variant`, :func:`damff_variant_table`).

No drawing and no Streamlit here (the dashboard draws these, STYLE.md section 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from memo_core.errors import MemoError
from memo_core.models.damff import ARCHITECTURES, FUSION_MAPS, FUSION_MODES

__all__ = [
    "UnfoldedMap",
    "unfold_step_map",
    "damff_row_hz",
    "row_edges_hz",
    "unfold_damff",
    "bands_on_view",
    "damff_step",
    "logmel_between",
    "gate_share",
    "DAMFF_VARIANTS",
    "damff_variant",
    "damff_variant_table",
]

#: Fallbacks for maps written before the axes carried Hz (a ``mel_band`` row axis, in band indices):
#: ``logmel128``'s 128 mel bands of a 16 kHz signal (up to 8 kHz), the shipped checkpoint's geometry.
#: Maps from :func:`memo_core.explain.explain_song` carry ``mel_hz`` (the checkpoint's own rate) and
#: need neither.
DAMFF_N_MELS = 128



DAMFF_SAMPLE_RATE = 16_000



@dataclass
class UnfoldedMap:
    """A per-step DAMFF map laid out as one time x frequency image of the whole song.

    Attributes:
        values: the map. [shape=(n_rows, n_steps * n_cols)]
        time_s: centre time of each column in the song. [shape=(n_steps * n_cols,)]
        row_hz: centre frequency of each row (Hz), low to high. [shape=(n_rows,)]
        row_low_hz: lowest frequency of the mel bands behind each row. [shape=(n_rows,)]
        row_high_hz: highest frequency of the mel bands behind each row. [shape=(n_rows,)]
    """

    values: np.ndarray
    time_s: np.ndarray
    row_hz: np.ndarray
    row_low_hz: np.ndarray
    row_high_hz: np.ndarray



def unfold_step_map(values: np.ndarray, *, time_s: np.ndarray, step_time_s: np.ndarray,
                    step_seconds: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Lay steps side by side: ``[n_steps, n_rows, n_cols]`` -> ``[n_rows, n_steps * n_cols]``.

    Column ``j`` of step ``i`` covers ``[time_s[i] + step_time_s[j], ... + width)``,
    ``width`` the spacing of ``step_time_s`` (``step_seconds`` for one column);
    its time is the centre of that span.

    Args:
        values: one map a step. [shape=(n_steps, n_rows, n_cols)]
        time_s: each step's start in the song. [shape=(n_steps,)]
        step_time_s: each column's start within its step. [shape=(n_cols,)]
        step_seconds: the step length, for a map of one column.

    Returns:
        ``(image, column_time_s)``. [shape=(n_rows, n_steps * n_cols)], [shape=(n_steps * n_cols,)]

    Raises:
        MemoError: shapes that do not agree.
    """
    values = np.asarray(values, dtype=np.float64)
    time_s = np.asarray(time_s, dtype=np.float64)
    step_time_s = np.asarray(step_time_s, dtype=np.float64)
    if values.ndim != 3 or values.shape[0] != len(time_s) or values.shape[2] != len(step_time_s):
        raise MemoError(f"a step map must be (n_steps={len(time_s)}, n_rows, n_cols={len(step_time_s)}), "
                        f"got {values.shape}")
    width = float(np.diff(step_time_s).mean()) if len(step_time_s) > 1 else float(step_seconds)
    image = values.transpose(1, 0, 2).reshape(values.shape[1], -1)
    column_time = (time_s[:, None] + step_time_s[None, :] + width / 2.0).reshape(-1)
    return image, column_time



def damff_row_hz(mel_band: np.ndarray, *, n_mels: int = DAMFF_N_MELS,
                 sample_rate: int = DAMFF_SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies of the rows of a DAMFF map.

    Row ``r`` pools the model's mel bands around the (fractional) band index
    ``mel_band[r]``; the bands are librosa's Slaney mel filters from 0 Hz to
    ``sample_rate / 2`` (``logmel128``), band ``k`` centred on the ``k+1``-th
    of ``n_mels + 2`` mel-spaced points, spanning the ``k``-th to ``k+2``-th.

    Args:
        mel_band: the map's ``mel_band`` axis (band-index centres). [shape=(n_rows,)]

    Returns:
        ``(centre_hz, low_hz, high_hz)``, each [shape=(n_rows,)].
    """
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    bands = np.asarray(mel_band, dtype=np.float64)
    pool = float(np.diff(bands).mean()) if len(bands) > 1 else 1.0
    top = float(librosa.hz_to_mel(sample_rate / 2.0))

    def hz(index: np.ndarray) -> np.ndarray:  # position on the n_mels + 2 point grid -> Hz
        return np.asarray(librosa.mel_to_hz(np.clip(index, 0, n_mels + 1) * top / (n_mels + 1)), dtype=np.float64)

    half = (pool - 1.0) / 2.0
    return hz(bands + 1.0), hz(bands - half), hz(bands + half + 2.0)



def row_edges_hz(row_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest frequency of the mel bands behind each row, from the rows' centres (``mel_hz``).

    The rows pool equal groups of mel bands starting at band 0, so on the mel
    scale every row spans its centre plus or minus the first row's centre (the
    first row's lowest filter starts at 0 Hz): exactly :func:`damff_row_hz`'s
    edges, without knowing the band count or the sample rate.

    Returns:
        ``(low_hz, high_hz)``, each [shape=(n_rows,)].
    """
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    mel = np.asarray(librosa.hz_to_mel(np.asarray(row_hz, dtype=np.float64)), dtype=np.float64)
    half = float(mel[0]) if len(mel) else 0.0
    return (np.asarray(librosa.mel_to_hz(np.maximum(mel - half, 0.0)), dtype=np.float64),
            np.asarray(librosa.mel_to_hz(mel + half), dtype=np.float64))



def unfold_damff(entry: Mapping, *, n_mels: int = DAMFF_N_MELS, sample_rate: int = DAMFF_SAMPLE_RATE,
                 step_seconds: float = 0.5) -> UnfoldedMap:
    """:func:`unfold_step_map` of a ``spatial_attention`` or ``fusion_gate`` entry (``{"values", "axes"}``).

    Row frequencies come from the entry's own ``mel_hz`` axis (the checkpoint's
    geometry, see :meth:`memo_core.models.damff.DAMFF.explanation_axes`); only
    an entry with the older ``mel_band`` axis uses ``n_mels`` and ``sample_rate``.
    """
    axes = entry["axes"]
    image, column_time = unfold_step_map(entry["values"], time_s=axes["time_s"], step_time_s=axes["step_time_s"],
                                         step_seconds=step_seconds)
    if "mel_hz" in axes:
        centre = np.asarray(axes["mel_hz"], dtype=np.float64)
        low, high = row_edges_hz(centre)
    else:
        centre, low, high = damff_row_hz(axes["mel_band"], n_mels=n_mels, sample_rate=sample_rate)
    return UnfoldedMap(image, column_time, centre, low, high)



def bands_on_view(hz: np.ndarray, view_mel_hz: np.ndarray) -> np.ndarray:
    """Fractional band positions of frequencies ``hz`` on a display log-mel whose bands centre on ``view_mel_hz``.

    Frequencies below the first centre or above the last get ``nan`` (they are
    not on that chart). [shape=hz.shape]
    """
    hz = np.asarray(hz, dtype=np.float64)
    centres = np.asarray(view_mel_hz, dtype=np.float64)
    out = np.interp(hz, centres, np.arange(len(centres), dtype=np.float64))
    out[(hz < centres[0]) | (hz > centres[-1])] = np.nan
    return out



def damff_step(entry: Mapping, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step's map: ``(values [n_rows, n_cols], rows [n_rows], step_time_s [n_cols])``; ``rows`` is the
    row axis as the entry has it: ``mel_hz`` (Hz), or ``mel_band`` (band indices) in older files.

    Raises:
        MemoError: a step outside the song.
    """
    values = np.asarray(entry["values"])
    if not 0 <= int(step) < values.shape[0]:
        raise MemoError(f"step {step} is outside the song's {values.shape[0]} steps")
    axes = entry["axes"]
    rows = axes["mel_hz"] if "mel_hz" in axes else axes["mel_band"]
    return values[int(step)], np.asarray(rows), np.asarray(axes["step_time_s"])



def logmel_between(logmel_db: np.ndarray, time_s: np.ndarray, start_s: float, end_s: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The columns of a display log-mel whose centres lie in ``[start_s, end_s)``.

    Args:
        logmel_db: [shape=(n_mels, n_columns)]
        time_s: column centres. [shape=(n_columns,)]

    Returns:
        ``(block [n_mels, k], column_time_s [k])``; the nearest column when none lies inside.
    """
    time_s = np.asarray(time_s, dtype=np.float64)
    keep = (time_s >= start_s) & (time_s < end_s)
    if not keep.any() and len(time_s):
        keep = np.zeros(len(time_s), dtype=bool)
        keep[int(np.argmin(np.abs(time_s - (start_s + end_s) / 2.0)))] = True
    return np.asarray(logmel_db)[:, keep], time_s[keep]



def gate_share(entry: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Share of branch A (the 3x3 convolution) in each step's fused map: the mean of X' over its positions.

    ``(time_s [n_steps], share [n_steps])``; 1 = only A, 0 = only B (the 5x5 branch).
    """
    values = np.asarray(entry["values"], dtype=np.float64)
    return np.asarray(entry["axes"]["time_s"], dtype=np.float64), values.reshape(values.shape[0], -1).mean(axis=1)



# What each of Table 3's fusion modes changes, in words (the modes and their maps are the model's own).
_FUSION_CHANGES = {
    "daff": "DAFF: X' = sigmoid(S + C), Z = X' A + (1 - X') B",
    "wo_fusion": "no fusion strategy: Z = X' (A + B)",
    "wo_channel": "no channel attention: X' = sigmoid(S)",
    "wo_spatial": "no spatial attention: X' = sigmoid(C)",
    "wo_daff": "no DAFF at all: Z = A + B",
}



#: DAMFF's variants (preset suffix after ``tiny``/``paper``): (table of the paper, what changes, maps it returns),
#: built from the model's :data:`~memo_core.models.damff.FUSION_MODES` and
#: :data:`~memo_core.models.damff.ARCHITECTURES` so a new variant shows up here.
DAMFF_VARIANTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    **{mode: ("full model" if mode == "daff" else "ablation (Table 3)", _FUSION_CHANGES.get(mode, mode),
              FUSION_MAPS[mode]) for mode in FUSION_MODES},
    **{name: ("architecture (Table 1)", "kernels per layer: " + ", ".join(layers), FUSION_MAPS["daff"])
       for name, layers in ARCHITECTURES.items() if name != "hybrid"},
}



def damff_variant(preset: str) -> str:
    """The variant of a DAMFF preset: ``"tiny"`` -> ``"daff"``, ``"paper_wo_fusion"`` -> ``"wo_fusion"``.

    A preset of another form is returned as it is.
    """
    preset = str(preset or "")
    for size in ("tiny", "paper"):
        if preset == size:
            return "daff"
        if preset.startswith(size + "_") and preset[len(size) + 1:] in DAMFF_VARIANTS:
            return preset[len(size) + 1:]
    return preset



def damff_variant_table(presets: Mapping[str, str], *, size: str = "tiny", dataset: str = "synth") -> pd.DataFrame:
    """One row per DAMFF variant: what it changes, the checkpoints that have it, and how to train one.

    Args:
        presets: ``{checkpoint key: preset}`` of the DAMFF checkpoints available.
        size: the preset size the training command names (``tiny`` trains on a CPU).
        dataset: the dataset loader the command names.

    Returns:
        Columns ``variant, kind, change, maps, checkpoints, train`` (``train`` empty
        where a checkpoint exists); variants of checkpoints outside
        :data:`DAMFF_VARIANTS` come last.
    """
    have: dict[str, list[str]] = {}
    for key, preset in presets.items():
        have.setdefault(damff_variant(preset), []).append(str(key))
    rows = []
    for variant, (kind, change, maps) in DAMFF_VARIANTS.items():
        keys = have.get(variant, [])
        suffix = "" if variant == "daff" else f"_{variant}"
        command = "" if keys else (f"python -m memo_core train --model damff --preset {size}{suffix} "
                                   f"--dataset {dataset} --out damff{suffix}.pt")
        rows.append({"variant": variant, "kind": kind, "change": change, "maps": ", ".join(maps) or "none",
                     "checkpoints": ", ".join(keys), "train": command})
    for variant, keys in have.items():
        if variant not in DAMFF_VARIANTS:
            rows.append({"variant": variant, "kind": "other preset", "change": "", "maps": "",
                         "checkpoints": ", ".join(keys), "train": ""})
    return pd.DataFrame(rows, columns=["variant", "kind", "change", "maps", "checkpoints", "train"])
