"""How far the checkpoints hear real music: scores on real annotated recordings, with intervals.

``python -m memo_core validate-real`` scores every checkpoint of a set (the
shipped one by default) on two kinds of real recordings:

* **annotated clips** with listeners' dynamic valence/arousal (by default the
  emoMusic and PMEmo clips with audio in ``../shared/data``; any dataset loader
  with ``--dataset NAME --root PATH``): pooled Pearson r over every annotated
  frame, song-level r (each song's mean prediction against its mean
  annotation), RMSE and CCC (pooled), per target;
* **4Q clips** (real commercial recordings, one Russell quadrant each): ROC-AUC
  of each song's mean prediction against the sign of its arousal and valence,
  on the clips the checkpoint never trained or early-stopped on (its recorded
  split: the artist-held-out test part when it trained on 4Q; every clip
  otherwise), with the baselines (``loudness``, ``mlr``, ``songlin``
  checkpoints of the same set) on the same clips, and the loudness level
  itself (the song's mean ``rms_db_2s``; the preceding 2 s level for frames).

Every figure has a 90 % interval from resampling songs (percentile bootstrap,
songs drawn with replacement, 2,000 resamples by default): frames of one song
are not independent, songs are the unit. Few clips give wide intervals, and
they are meant to: the clips are for checking, never for tuning.

Taggers get their tag-score spread over the 4Q clips, the mean tag-level
ROC-AUC (on the tags of their vocabulary that 4Q's AllMusic moods carry) and
how often the quadrant implied by their top tags matches the annotation
(chance 0.25). Per-frame models with explanation maps get the deletion test of
:mod:`memo_core.explain.faithfulness` on the annotated clips.

With ``--write`` the figures go into each checkpoint's manifest entry
(``validation_real``, ``faithfulness``, ``tag_spread``; written atomically,
checkpoint files untouched), where the dashboard shows them beside the
predictions.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from memo_core import metrics
from memo_core.audio import load_audio
from memo_core.data import load_dataset
from memo_core.data.sequences import SequenceExample, align_annotations
from memo_core.data.tags import build_tag_examples
from memo_core.errors import AudioError, CheckpointError, MemoError
from memo_core.explain.faithfulness import faithfulness, summarise
from memo_core.features import extract, frame_times, get_extractor
from memo_core.fileio import atomic_write, json_safe
from memo_core.metrics import bootstrap
from memo_core.pretrained import MANIFEST_NAME, read_manifest_checked
from memo_core.training.scoring import predict_examples, predict_tag_scores

__all__ = [
    "DEFAULT_SHARED",
    "INTERVAL",
    "bootstrap",
    "RealSong",
    "ClipSong",
    "load_real_songs",
    "load_4q_songs",
    "validate_checkpoints",
    "format_report",
    "write_into_manifest",
    "TARGETS",
    "plain",
]

#: ``../shared/data`` beside the repository: the real fixtures.
DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"  # memo_core/experiments/ -> ../shared
INTERVAL = "90 % percentile bootstrap over songs"
BASELINES = ("loudness", "mlr", "songlin")
_LOUD = "loudness"  # the raw level, not a checkpoint: the row the table starts from


def _nan() -> dict[str, float]:
    return bootstrap(0, len)  # the undefined figure


def _finite_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def _pearson(pred: np.ndarray, true: np.ndarray) -> float:
    """Pearson r on the finite pairs (NaN with fewer than 3, or a constant series)."""
    pred, true = _finite_pairs(pred, true)
    return metrics.pearson_r(true, pred) if len(pred) >= 3 else math.nan


def _ccc(pred: np.ndarray, true: np.ndarray) -> float:
    pred, true = _finite_pairs(pred, true)
    return metrics.ccc(true, pred) if len(pred) >= 2 else math.nan


def _rmse(pred: np.ndarray, true: np.ndarray) -> float:
    pred, true = _finite_pairs(pred, true)
    return metrics.rmse(true, pred) if len(pred) else math.nan


def spec_key(spec: dict[str, Any]) -> str:
    """A feature set and its parameters as one key (what a checkpoint's ``feature_spec`` names)."""

    return json.dumps({"name": spec["name"], "params": spec.get("params") or {}}, sort_keys=True, default=str)


@dataclass
class RealSong:
    """One real clip with dynamic annotations, as validation needs it: its features per feature set
    (extracted once, the audio itself not kept)."""

    key: str  # "dataset:id"
    record: Any
    features: dict[str, np.ndarray]  # spec_key -> (n_frames, n_features)
    loudness: np.ndarray  # rms_db_2s per 500 ms frame
    annotated: np.ndarray  # frame indices
    true: np.ndarray  # (n_annotated, 2): valence, arousal


@dataclass
class ClipSong:
    """One 4Q clip: its quadrant signs, its artist, its loudness and, for the clips scored, its features."""

    song_id: str
    record: Any
    signs: np.ndarray  # (2,): valence, arousal sign
    loudness: float  # mean rms_db_2s
    artist: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    features: dict[str, np.ndarray] = field(default_factory=dict)


def _loudness(audio) -> np.ndarray:

    names = get_extractor("loudness").feature_names
    return extract(audio, "loudness")[:, names.index("rms_db_2s")]


def _decode(path) -> Any | None:
    """The audio of a dataset file, or ``None`` when it cannot be read (counted and reported by the caller)."""

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_audio(path)
    except AudioError:
        return None


def _extract_all(audio, specs: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:

    return {spec_key(spec): extract(audio, spec["name"], **(spec.get("params") or {})) for spec in specs}


def _report_unreadable(names: list[str], where: str) -> None:
    if names:
        warnings.warn(f"{len(names)} file(s) in {where} could not be read and were left out "
                      f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})", stacklevel=3)


def load_real_songs(sources: Sequence[tuple[str, str | Path]], specs: Sequence[dict[str, Any]] = ()
                    ) -> list[RealSong]:
    """The songs with audio and dynamic valence/arousal annotations of each ``(dataset, folder)``, each decoded
    once with the feature sets ``specs`` extracted (through the feature cache); unreadable files are left out
    with a warning.

    Raises:
        MemoError: no song with audio and annotations in any source.
    """

    songs: list[RealSong] = []
    for name, root in sources:
        load = load_dataset(name, root, require_audio=True)
        unreadable = []
        for record in load.songs:
            if record.valence is None or record.arousal is None:
                continue
            audio = _decode(record.audio_path)
            if audio is None:
                unreadable.append(str(record.song_id))
                continue
            loud = _loudness(audio)
            values, mask = align_annotations(record, n_frames=len(loud), targets=("valence", "arousal"))
            if not mask.any():
                continue
            idx = np.flatnonzero(mask)
            songs.append(RealSong(f"{name}:{record.song_id}", record, _extract_all(audio, specs), loud, idx,
                                  values[idx].astype(np.float64)))
        _report_unreadable(unreadable, f"{name} ({root})")
    if not songs:
        raise MemoError("no real song with audio and dynamic annotations in "
                        + ", ".join(f"{n} ({r})" for n, r in sources))
    return songs


def load_4q_songs(root: str | Path, specs: Sequence[dict[str, Any]] = (), *,
                  unscored: set[str] = frozenset()) -> list[ClipSong]:
    """The 4Q clips with audio under ``root`` (see :mod:`memo_core.data.fourq`), each decoded once: its mean
    loudness, and, except for the clips in ``unscored`` (which no figure is computed on), the feature sets
    ``specs``; unreadable files are left out with a warning.

    Raises:
        MemoError: no readable clip.
    """

    load = load_dataset("4q", root, require_audio=True)
    out, unreadable = [], []
    for record in load.songs:
        audio = _decode(record.audio_path)
        if audio is None:
            unreadable.append(str(record.song_id))
            continue
        signs = np.array([record.meta["valence_sign"], record.meta["arousal_sign"]], dtype=np.float64)
        features = {} if record.song_id in unscored else _extract_all(audio, specs)
        out.append(ClipSong(record.song_id, record, signs, float(_loudness(audio).mean()),
                            record.meta.get("artist", ""), tuple(record.tags), features))
    _report_unreadable(unreadable, f"4q ({root})")
    if not out:
        raise MemoError(f"no readable 4Q clip with audio under {root}")
    return out


# --------------------------------------------------------------------------- predictions


def _features(ckpt, song: RealSong | ClipSong) -> np.ndarray:
    """The song's frames of the checkpoint's feature set (extracted when the song was loaded)."""
    return song.features[spec_key(ckpt.feature_spec)]


def _frame_predictions(ckpt, song: RealSong | ClipSong) -> np.ndarray:
    """(n_frames, n_targets) in the checkpoint's target order."""

    x = _features(ckpt, song)
    n = len(x)
    ex = SequenceExample("song", x, np.zeros((n, len(ckpt.targets)), np.float32), np.zeros(n, bool),
                         frame_times(n), tuple(ckpt.targets))
    return predict_examples(ckpt.model, [ex], ckpt.normalizer)[0]


def _column(ckpt, name: str) -> int | None:
    return list(ckpt.targets).index(name) if name in ckpt.targets else None


def _seen_4q(ckpt) -> set[str]:
    """4Q ids the checkpoint trained or early-stopped on (its recorded split): ``4q:ID`` in a mixture's split,
    or plain ids when 4Q was its one dataset (a tagger, ``train --dataset 4q``)."""
    info = ckpt.info.get("train_info") or {}
    split = info.get("split") or {}
    ids = [str(i) for part in ("train", "validation") for i in (split.get(part) or [])]
    prefixed = {i[3:] for i in ids if i.startswith("4q:")}
    if prefixed or str(info.get("dataset", "")).split("+") != ["4q"]:
        return prefixed
    return set(ids)


# --------------------------------------------------------------------------- figures


def _clip_figures(preds: list[np.ndarray], songs: list[RealSong], n_boot: int, seed: int,
                  raw: bool = False) -> dict[str, Any]:
    """Per target: pooled r, song r, RMSE, CCC with intervals (``raw``: a raw feature, r only)."""
    out: dict[str, Any] = {}
    for j, target in enumerate(("valence", "arousal")):
        p = [pr[:, j] if pr.ndim == 2 else pr for pr in preds]
        t = [s.true[:, j] for s in songs]

        def pooled(idx, f):
            return f(np.concatenate([p[i] for i in idx]), np.concatenate([t[i] for i in idx]))

        figs = {
            "pooled_r": bootstrap(len(songs), lambda idx: pooled(idx, _pearson), n_boot=n_boot, seed=seed),
            "song_r": bootstrap(len(songs), lambda idx: _pearson(np.array([p[i].mean() for i in idx]),
                                                                 np.array([t[i].mean() for i in idx])),
                                n_boot=n_boot, seed=seed),
        }
        if not raw:
            figs["rmse"] = bootstrap(len(songs), lambda idx: pooled(idx, _rmse),
                                     n_boot=n_boot, seed=seed)
            figs["ccc"] = bootstrap(len(songs), lambda idx: pooled(idx, _ccc), n_boot=n_boot, seed=seed)
        out[target] = figs
    return out


def _auc_figures(scores: np.ndarray, signs: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    out = {}
    for j, target in enumerate(("valence", "arousal")):
        s, y = scores[:, j], signs[:, j] > 0
        out[f"{target}_auc"] = bootstrap(len(y), lambda idx: metrics.roc_auc(y[idx], s[idx]), n_boot=n_boot, seed=seed)
    return out


def _auc_difference(a: np.ndarray, b: np.ndarray, signs: np.ndarray, j: int, n_boot: int, seed: int) -> dict:
    y = signs[:, j] > 0
    return bootstrap(len(y), lambda idx: metrics.roc_auc(y[idx], a[idx, j]) - metrics.roc_auc(y[idx], b[idx, j]), n_boot=n_boot, seed=seed)


#: What each valence/arousal checkpoint is held to (issues #11 and #18); ``best`` only for the best one.
TARGETS = {
    "4q_arousal_auc": 0.90,
    "4q_valence_auc": 0.75,
    "best_4q_arousal_auc": 0.95,
    "best_4q_valence_auc": 0.82,
    "best_clips_arousal_r": 0.75,
}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _fmt(f: dict | None, digits: int = 2) -> str:
    """``0.92 [0.86, 0.96]``, or ``-`` when there is no finite value (NaN in memory, ``None`` read from JSON)."""
    if not isinstance(f, dict) or not _finite(f.get("value")):
        return "-"
    v = f"{f['value']:.{digits}f}"
    if _finite(f.get("lo")) and _finite(f.get("hi")):
        v += f" [{f['lo']:.{digits}f}, {f['hi']:.{digits}f}]"
    return v


def _targets(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of a regression checkpoint, each met or not, with the value (point estimates)."""
    out = []
    fq = entry.get("4q") or {}
    clips = entry.get("clips") or {}
    loud = (clips.get("loudness") or {}).get("arousal", {}).get("pooled_r", {}).get("value", math.nan)
    checks = [
        ("4Q arousal ROC-AUC >= 0.90", fq.get("arousal_auc", {}).get("value", math.nan), TARGETS["4q_arousal_auc"]),
        ("4Q valence ROC-AUC >= 0.75", fq.get("valence_auc", {}).get("value", math.nan), TARGETS["4q_valence_auc"]),
        ("4Q valence ROC-AUC above the song-level linear baseline's",
         fq.get("valence_auc_minus_songlin", {}).get("value", math.nan), 1e-12),
        ("clips: arousal pooled r at or above the loudness level's",
         clips.get("arousal", {}).get("pooled_r", {}).get("value", math.nan) - loud, 0.0),
        ("clips: valence pooled r positive", clips.get("valence", {}).get("pooled_r", {}).get("value", math.nan), 1e-12),
    ]
    for what, value, bar in checks:
        if np.isfinite(value):
            out.append({"what": what, "met": bool(value >= bar), "value": float(value)})
    return out


def _verdict(key: str, entry: dict[str, Any]) -> str:
    fq = entry.get("4q") or {}
    a = fq.get("arousal_auc", {}).get("value", math.nan)
    v = fq.get("valence_auc", {}).get("value", math.nan)
    vr = (entry.get("clips") or {}).get("valence", {}).get("pooled_r", {}).get("value", math.nan)
    if not np.isfinite(a):
        return f"{key}: not scored on real recordings."
    parts = []
    parts.append("tells high from low arousal well" if a >= 0.9 else
                 "tells high from low arousal fairly" if a >= 0.8 else "barely tells high from low arousal")
    parts.append("and positive from negative valence well" if v >= 0.8 else
                 "and positive from negative valence somewhat" if v >= 0.7 else
                 "but hardly tells positive from negative valence" if v >= 0.6 else
                 "but does not tell positive from negative valence")
    sentence = (f"On {fq.get('n_songs', '?')} real recordings it never trained on, {key} " + " ".join(parts)
                + f" (ROC-AUC {a:.2f} / {v:.2f})")
    if np.isfinite(vr) and vr <= 0:
        sentence += "; on the annotated clips its valence runs against the listeners'"
    return sentence + "."


@dataclass
class _Scored:
    real: list[np.ndarray] | None = None  # per real song (n_annotated, 2)
    clip: np.ndarray | None = None  # (n_4q, 2) song means, NaN where no target


def _score(ckpt, real: list[RealSong], clips: list[ClipSong], needed: set[str] | None = None) -> _Scored:
    """Predictions on the real songs and song means on the 4Q clips (only those in ``needed``; NaN elsewhere)."""
    cols = [_column(ckpt, "valence"), _column(ckpt, "arousal")]
    out = _Scored()
    if real:
        out.real = []
        for s in real:
            pr = _frame_predictions(ckpt, s)
            n = len(pr)
            idx = s.annotated[s.annotated < n]
            y = np.full((len(s.annotated), 2), np.nan)
            for j, c in enumerate(cols):
                if c is not None:
                    y[: len(idx), j] = pr[idx, c]
            out.real.append(y)
    if clips:
        means = np.full((len(clips), 2), np.nan)
        for i, s in enumerate(clips):
            if needed is not None and s.song_id not in needed:
                continue
            pr = _frame_predictions(ckpt, s)
            for j, c in enumerate(cols):
                if c is not None:
                    means[i, j] = float(pr[:, c].mean())
        out.clip = means
    return out


def _tagger_figures(ckpt, clips: list[ClipSong], seen: set[str], n_boot: int, seed: int) -> dict[str, Any]:
    """Tag spread, mean tag ROC-AUC and quadrant agreement of a tagger on unseen 4Q clips."""

    vocab = tuple(ckpt.targets)
    test = [c for c in clips if c.song_id not in seen]
    train = [c for c in clips if c.song_id in seen]
    if not test:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        examples = build_tag_examples([c.record for c in test], tag_names=vocab,
                                      features=ckpt.feature_spec["name"], progress=False)
    scores = predict_tag_scores(ckpt.model, examples, ckpt.normalizer)
    spread = {tag: {"mean": float(scores[:, k].mean()), "std": float(scores[:, k].std()),
                    "min": float(scores[:, k].min()), "max": float(scores[:, k].max())}
              for k, tag in enumerate(vocab)}
    labels = np.array([[tag in c.tags for tag in vocab] for c in test], dtype=bool)
    usable = [k for k in range(len(vocab)) if labels[:, k].any() and (~labels[:, k]).any()]

    def mean_auc(idx):
        vals = [metrics.roc_auc(labels[idx, k], scores[idx, k]) for k in usable]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else math.nan

    out: dict[str, Any] = {"n_songs": len(test), "tags": spread,
                           "n_tags_scored": len(usable),
                           "tag_auc_mean": bootstrap(len(test), mean_auc, n_boot=n_boot, seed=seed) if usable else _nan()}
    # each tag's quadrant: where the clips it was trained on (else all other clips) carrying it mostly lie
    reference = train or clips
    tag_quadrant = {}
    for tag in vocab:
        qs = Counter(c.record.meta["quadrant"] for c in reference if tag in c.tags)
        if qs:
            tag_quadrant[tag] = qs.most_common(1)[0][0]
    if tag_quadrant:
        quads = ("Q1", "Q2", "Q3", "Q4")
        votes = np.zeros((len(test), 4))
        for k, tag in enumerate(vocab):
            if tag in tag_quadrant:
                votes[:, quads.index(tag_quadrant[tag])] += scores[:, k]
        implied = np.array([quads[i] for i in votes.argmax(1)])
        truth = np.array([c.record.meta["quadrant"] for c in test])
        hit = implied == truth
        out["quadrant_agreement"] = {**bootstrap(len(test), lambda idx: float(hit[idx].mean()), n_boot=n_boot,
                                                 seed=seed), "chance": 0.25}
        out["tag_quadrants"] = tag_quadrant
    return out


def validate_checkpoints(
    checkpoints: dict[str, Any],
    *,
    real_sources: Sequence[tuple[str, str | Path]] | None = None,
    fourq_root: str | Path | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    faithfulness: bool = True,
    mark_best: bool = True,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Score loaded checkpoints on real recordings (see the module docstring).

    Args:
        checkpoints: ``{key: LoadedCheckpoint}``; ``loudness``, ``mlr`` and ``songlin`` among them are the
            baselines every other is shown against.
        real_sources: ``(dataset, folder)`` with dynamic annotations (default: emoMusic and PMEmo in
            :data:`DEFAULT_SHARED`, those present); ``[]`` skips them.
        fourq_root: the 4Q folder (default: :data:`DEFAULT_SHARED` ``/4q`` when present); ``""`` skips it.
        n_boot, seed: bootstrap resamples and seed.
        faithfulness: run the deletion test on the annotated clips for models with maps.
        mark_best: hold the best of the explained checkpoints scored here to the targets of the best one
            (``False`` when only part of a set is scored: the best is then not among them to judge).

    Returns:
        ``{key: {"validation_real": ..., ["faithfulness": ...], ["tag_spread": ...]}}`` (manifest format).

    Raises:
        MemoError: no real recording found at all.
    """
    if real_sources is None:
        real_sources = [(n, DEFAULT_SHARED / sub) for n, sub in (("emomusic", "emomusic"),
                                                                  ("pmemo", "pmemo/PMEmo2019"))
                        if (DEFAULT_SHARED / sub).is_dir()]
    if fourq_root is None:
        fourq_root = DEFAULT_SHARED / "4q" if (DEFAULT_SHARED / "4q").is_dir() else ""
    regression = {k: c for k, c in checkpoints.items() if getattr(c.model, "task", "regression") != "tagging"}
    specs = list({spec_key(c.feature_spec): c.feature_spec for c in regression.values()}.values())
    baseline_seen = set().union(*(_seen_4q(checkpoints[b]) for b in BASELINES if b in checkpoints))
    # a checkpoint is scored on the clips neither it nor any baseline trained or early-stopped on
    excluded = {key: _seen_4q(ckpt) | baseline_seen for key, ckpt in regression.items()}
    unscored = set.intersection(*excluded.values()) if excluded else set()
    real = load_real_songs(real_sources, specs) if real_sources else []
    clips = load_4q_songs(fourq_root, specs, unscored=unscored) if fourq_root else []
    if not real and not clips:
        raise MemoError("no real recordings to validate on: give --dataset NAME --root PATH or --fourq-root PATH "
                        f"(the defaults in {DEFAULT_SHARED} are absent)")
    clip_signs = np.stack([c.signs for c in clips]) if clips else np.zeros((0, 2))
    ids = [c.song_id for c in clips]
    loud_clip = np.array([[c.loudness, c.loudness] for c in clips])
    needed = set(ids) - unscored
    scored = {}
    for key, ckpt in regression.items():
        if progress:
            print(f"validate-real: scoring {key}", flush=True)
        scored[key] = _score(ckpt, real, clips, needed)
    real_desc = ", ".join(sorted({n for n, _ in real_sources})) if real else ""
    loud_real = _clip_figures([np.stack([s.loudness[s.annotated]] * 2, 1) for s in real], real, n_boot, seed,
                              raw=True) if real else None

    results: dict[str, dict[str, Any]] = {}
    for key, ckpt in regression.items():
        entry: dict[str, Any] = {"command": "python -m memo_core validate-real", "interval": INTERVAL,
                                 "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        sc = scored[key]
        if real:
            entry["clips"] = {"datasets": real_desc, "n_songs": len(real),
                              "n_frames": int(sum(len(s.annotated) for s in real)),
                              **_clip_figures(sc.real, real, n_boot, seed), "loudness": loud_real}
        if clips:
            seen = excluded[key]
            keep = np.array([i not in seen for i in ids])
            if keep.sum() >= 4:
                s, y = sc.clip[keep], clip_signs[keep]
                fq: dict[str, Any] = {
                    "split": ("the 4Q clips none of this checkpoint and the baselines trained or early-stopped on "
                              "(artist-held-out)" if seen else "every 4Q clip (none used in training)"),
                    "n_songs": int(keep.sum()),
                    "n_artists": len({clips[i].artist for i in np.flatnonzero(keep)}),
                    **_auc_figures(s, y, n_boot, seed),
                    "baselines": {_LOUD + "_level": _auc_figures(loud_clip[keep], y, n_boot, seed)},
                }
                for base in BASELINES:
                    if base in scored and base != key:
                        fq["baselines"][base] = _auc_figures(scored[base].clip[keep], y, n_boot, seed)
                if "songlin" in scored and key != "songlin":
                    fq["valence_auc_minus_songlin"] = _auc_difference(s, scored["songlin"].clip[keep], y, 0, n_boot, seed)
                    fq["arousal_auc_minus_songlin"] = _auc_difference(s, scored["songlin"].clip[keep], y, 1, n_boot, seed)
                entry["4q"] = fq
        entry["targets"] = [] if key in BASELINES else _targets(entry)  # the bars are for the explained models
        entry["verdict"] = _verdict(key, entry)
        results[key] = {"validation_real": entry}
        if faithfulness and real:
            summary = _faithfulness(ckpt, real)
            if summary is not None:
                results[key]["faithfulness"] = summary

    # the best valence/arousal checkpoint's own targets
    explained = {k: r for k, r in results.items() if k not in BASELINES}
    if explained and mark_best:
        def auc(k, t):
            return results[k]["validation_real"].get("4q", {}).get(f"{t}_auc", {}).get("value", -1)
        best = max(explained, key=lambda k: auc(k, "arousal") + auc(k, "valence"))
        entry = results[best]["validation_real"]
        for what, value, bar in (("best: 4Q arousal ROC-AUC >= 0.95", auc(best, "arousal"), TARGETS["best_4q_arousal_auc"]),
                                 ("best: 4Q valence ROC-AUC >= 0.82", auc(best, "valence"), TARGETS["best_4q_valence_auc"]),
                                 ("best: clips arousal pooled r >= 0.75",
                                  entry.get("clips", {}).get("arousal", {}).get("pooled_r", {}).get("value", math.nan),
                                  TARGETS["best_clips_arousal_r"])):
            if np.isfinite(value) and value >= 0:
                entry["targets"].append({"what": what, "met": bool(value >= bar), "value": float(value)})
        entry["best"] = True

    if clips:
        for key, ckpt in checkpoints.items():
            if getattr(ckpt.model, "task", "regression") == "tagging":
                if progress:
                    print(f"validate-real: scoring tagger {key}", flush=True)
                figures = _tagger_figures(ckpt, clips, _seen_4q(ckpt), n_boot, seed)
                if figures:
                    results[key] = {"tag_spread": figures}
    return results


def _faithfulness(ckpt, real: list[RealSong]) -> dict[str, Any] | None:
    results = []
    for s in real:
        r = faithfulness(ckpt, _features(ckpt, s))
        if r is None:
            return None
        results.append(r)
    return summarise(results) if results else None


def format_report(results: dict[str, dict[str, Any]]) -> str:
    """Markdown tables: the valence/arousal checkpoints (4Q AUC, clips r) with baselines, then the taggers."""
    rows = []
    loud_added = False
    for key, res in results.items():
        v = res.get("validation_real")
        if not v:
            continue
        fq, cl = v.get("4q", {}), v.get("clips", {})
        rows.append(f"| `{key}`{' (baseline)' if key in BASELINES else ''} | {fq.get('n_songs', '-')} | "
                    f"{_fmt(fq.get('arousal_auc'))} | {_fmt(fq.get('valence_auc'))} | "
                    f"{_fmt(cl.get('arousal', {}).get('pooled_r'))} | {_fmt(cl.get('valence', {}).get('pooled_r'))} | "
                    f"{_fmt(cl.get('arousal', {}).get('song_r'))} | {_fmt(cl.get('valence', {}).get('song_r'))} | "
                    f"{sum(t['met'] for t in v.get('targets', []))}/{len(v.get('targets', []))} |")
        if not loud_added and (fq.get("baselines", {}).get(_LOUD + "_level") or cl.get("loudness")):
            lb, ll = fq.get("baselines", {}).get(_LOUD + "_level", {}), cl.get("loudness") or {}
            loud_row = (f"| loudness level (raw `rms_db_2s`, no model) | {fq.get('n_songs', '-')} | "
                        f"{_fmt(lb.get('arousal_auc'))} | {_fmt(lb.get('valence_auc'))} | "
                        f"{_fmt(ll.get('arousal', {}).get('pooled_r'))} | {_fmt(ll.get('valence', {}).get('pooled_r'))} | "
                        f"{_fmt(ll.get('arousal', {}).get('song_r'))} | {_fmt(ll.get('valence', {}).get('song_r'))} | - |")
            loud_added = True
    lines = []
    if rows:
        first = next(r["validation_real"] for r in results.values() if r.get("validation_real"))
        lines += [f"Real recordings ({INTERVAL}). 4Q: ROC-AUC of the song-mean prediction against the quadrant's "
                  f"sign, on clips unseen in training. Clips: Pearson r with listeners' dynamic annotations "
                  f"({first.get('clips', {}).get('datasets', '-')}, {first.get('clips', {}).get('n_songs', 0)} songs; "
                  "pooled over frames, and of song means).",
                  "",
                  "| checkpoint | 4Q songs | 4Q arousal AUC | 4Q valence AUC | clips A r (pooled) | clips V r (pooled) "
                  "| clips A r (songs) | clips V r (songs) | targets met |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += rows + ([loud_row] if loud_added else [])
    tag_rows = []
    for key, res in results.items():
        t = res.get("tag_spread")
        if not t:
            continue
        stds = [v["std"] for v in t["tags"].values()]
        tag_rows.append(f"| `{key}` | {t['n_songs']} | {t.get('n_tags_scored', 0)} | {_fmt(t.get('tag_auc_mean'))} | "
                        f"{_fmt(t.get('quadrant_agreement'))} (chance 0.25) | {np.median(stds):.3f} |")
    if tag_rows:
        lines += ["", "Taggers on 4Q clips they never trained on: mean tag ROC-AUC over the tags 4Q's moods carry, "
                  "quadrant implied by the top tags, median spread (std) of a tag's score across songs.", "",
                  "| tagger | songs | tags scored | mean tag ROC-AUC | quadrant agreement | median tag-score std |",
                  "|---|---|---|---|---|---|"] + tag_rows
    faith = [(k, r["faithfulness"]) for k, r in results.items() if r.get("faithfulness")]
    if faith:
        lines += ["", "Faithfulness of the maps on the annotated clips (deletion test):", ""]
        lines += [f"- `{k}`: {f.get('sentence', '')}" for k, f in faith]
    return "\n".join(lines)


def write_into_manifest(folder: str | Path, results: dict[str, dict[str, Any]]) -> Path:
    """Put each checkpoint's figures into its manifest entry (atomic write; checkpoint files untouched).

    Raises:
        CheckpointError: no readable manifest in ``folder``.
    """


    folder = Path(folder)
    manifest, skipped = read_manifest_checked(folder)
    if skipped:  # writing back the entries that follow the schema would silently drop these
        raise CheckpointError(f"{folder / MANIFEST_NAME} has entries that break the manifest's schema; fix or "
                              "remove them first: " + "; ".join(skipped.values()))
    for entry in manifest["checkpoints"]:
        res = results.get(str(entry.get("key")))
        if res:
            entry.update(plain(res))
    path = folder / MANIFEST_NAME
    atomic_write(path, lambda h: h.write(json.dumps(plain(manifest), indent=2, allow_nan=False) + "\n"))
    return path


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as Python ones and NaN/inf as ``None`` (strict JSON)."""

    return json_safe(value)
