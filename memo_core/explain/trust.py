"""How far to trust a checkpoint on real music, from its manifest entry (written by
``python -m memo_core validate-real``): :func:`trust_of` gives a short label and a level
(:data:`TRUST_LEVELS`), :func:`trust_table` and :func:`training_sources_table` the tables of every
checkpoint beside the baselines on the same songs, :func:`tag_spread_of` a tagger's tag scores
across real songs. Missing or malformed figures read as "not validated on real recordings".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "TRUST_LEVELS",
    "TRUST_BADGES",
    "BASELINE_KEYS",
    "UNVALIDATED",
    "FLAT_TAGS",
    "FLAT_TAG_STD",
    "TRUST_RULES",
    "Estimate",
    "estimate_of",
    "TagSpread",
    "tag_spread_of",
    "Trust",
    "trust_of",
    "trust_table",
    "training_sources_table",
    "trained_on_summary",
    "trained_on_brief",
    "trust_brief",
    "TAG_STANDS_OUT",
    "tag_contrast",
    "tags_stand_out",
]

#: How far a checkpoint can be trusted on real music, best first (the order :func:`trust_of` ranks them in).
TRUST_LEVELS = ("good", "limited", "poor", "unvalidated")



#: A short mark per level, for a checkpoint's name in a list.
TRUST_BADGES = {"good": "🟢", "limited": "🟡", "poor": "🔴", "unvalidated": "⚪"}



#: Checkpoints that are baselines for the others (``memo_core.experiments.validate_real.BASELINES``): labelled as baselines.
BASELINE_KEYS = ("loudness", "mlr", "songlin")



#: What a checkpoint says when its manifest entry has no usable real-music figures.
UNVALIDATED = "not validated on real recordings"



#: What a tagger with (nearly) constant tags says.
FLAT_TAGS = "this tagger gives nearly the same tags to every song"



#: A tagger whose every tag score varies less than this (standard deviation across songs, 0-1 scale) is flat.
FLAT_TAG_STD = 0.05



# The levels' thresholds (``validation_real`` of a manifest entry; AUCs on the held-out 4Q songs, r on the
# listener-annotated clips, pooled over their frames):
_POOR_AROUSAL_AUC = 0.75



_POOR_VALENCE_AUC = 0.60



_GOOD_AROUSAL_AUC = 0.90



_GOOD_VALENCE_AUC = 0.75



# ... and of ``tag_spread`` (taggers): the mean tag ROC-AUC over tags, the quadrant agreement against chance.
_POOR_TAG_AUC = 0.60



_GOOD_TAG_AUC = 0.75



#: The rules behind each level, as a reader is told them.
TRUST_RULES = {
    "unvalidated": "no real-music figures in the manifest (or none that can be read)",
    "poor": (f"4Q arousal ROC-AUC below {_POOR_AROUSAL_AUC:.2f}, 4Q valence ROC-AUC below {_POOR_VALENCE_AUC:.2f}, "
             "or valence r with listeners at or below 0; taggers: nearly the same tags for every song "
             f"(every tag's spread below {FLAT_TAG_STD:.2f}), mean tag ROC-AUC below {_POOR_TAG_AUC:.2f}, or "
             "quadrant agreement no better than chance"),
    "good": (f"4Q arousal ROC-AUC at least {_GOOD_AROUSAL_AUC:.2f} and valence ROC-AUC at least "
             f"{_GOOD_VALENCE_AUC:.2f} (and not poor); taggers: mean tag ROC-AUC at least {_GOOD_TAG_AUC:.2f} "
             "and quadrant agreement above chance over its whole interval"),
    "limited": "validated on real recordings, neither poor nor good",
}



_MAX_TEXT = 400  # longest free text (a verdict, a licence) taken from a manifest



@dataclass(frozen=True)
class Estimate:
    """A figure with its (bootstrap) interval; ``lo``/``hi`` are None when the manifest gives none."""

    value: float
    lo: float | None = None
    hi: float | None = None

    def __str__(self) -> str:
        if self.lo is None or self.hi is None:
            return f"{self.value:.2f}"
        return f"{self.value:.2f} [{self.lo:.2f}, {self.hi:.2f}]"



def _number(raw: Any, lower: float = -math.inf, upper: float = math.inf) -> float | None:
    """``raw`` as a finite float within [lower, upper], else None (a bool, a string, NaN are not numbers here)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, np.integer, np.floating)):
        return None
    value = float(raw)
    return value if math.isfinite(value) and lower <= value <= upper else None



def estimate_of(raw: Any, *, lower: float = -math.inf, upper: float = math.inf) -> Estimate | None:
    """A manifest figure (``{"value", "lo", "hi"}``, or a bare number) as an :class:`Estimate`.

    Returns None for anything else: a value that is missing, not a finite number or outside ``[lower, upper]``.
    An interval that is incomplete, out of bounds or reversed is dropped (the value is kept).
    """
    if not isinstance(raw, Mapping):
        value = _number(raw, lower, upper)
        return None if value is None else Estimate(value)
    value = _number(raw.get("value"), lower, upper)
    if value is None:
        return None
    lo, hi = _number(raw.get("lo"), lower, upper), _number(raw.get("hi"), lower, upper)
    if lo is None or hi is None or lo > hi:
        return Estimate(value)
    return Estimate(value, lo, hi)



def _auc(raw: Any) -> Estimate | None:
    return estimate_of(raw, lower=0.0, upper=1.0)



def _corr(raw: Any) -> Estimate | None:
    return estimate_of(raw, lower=-1.0, upper=1.0)



def _section(raw: Any, key: str) -> Mapping[str, Any]:
    found = raw.get(key) if isinstance(raw, Mapping) else None
    return found if isinstance(found, Mapping) else {}



def _count(raw: Any) -> int | None:
    value = _number(raw, 0.0)
    return int(value) if value is not None and value == int(value) else None



def _text(raw: Any, limit: int = _MAX_TEXT) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = " ".join(raw.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"



@dataclass(frozen=True)
class _Real:
    """The readable part of a manifest entry's ``validation_real``."""

    arousal_auc: Estimate | None = None
    valence_auc: Estimate | None = None
    n_4q: int | None = None
    clip_r: dict[str, Estimate] = field(default_factory=dict)   # target -> pooled r with listeners
    clip_ccc: dict[str, Estimate] = field(default_factory=dict)
    n_clips: int | None = None
    targets: tuple[tuple[str, bool], ...] = ()
    verdict: str | None = None
    interval: str | None = None

    @property
    def validated(self) -> bool:
        return bool(self.arousal_auc or self.valence_auc or self.clip_r)



def _clip_figures(clips: Mapping[str, Any]) -> tuple[dict[str, Estimate], dict[str, Estimate]]:
    r, concordance = {}, {}
    for target in ("arousal", "valence"):
        part = _section(clips, target)
        found = _corr(part.get("pooled_r")) or _corr(part.get("song_r"))
        if found is not None:
            r[target] = found
        found = _corr(part.get("ccc"))
        if found is not None:
            concordance[target] = found
    return r, concordance



def _real(entry: Any) -> _Real:
    real = _section(entry, "validation_real")
    fourq, clips = _section(real, "4q"), _section(real, "clips")
    clip_r, clip_ccc = _clip_figures(clips)
    targets = []
    raw_targets = real.get("targets")
    for item in raw_targets if isinstance(raw_targets, list) else []:
        what = _text(item.get("what"), 120) if isinstance(item, Mapping) else None
        if what is not None and isinstance(item.get("met"), bool):
            targets.append((what, item["met"]))
    return _Real(_auc(fourq.get("arousal_auc")), _auc(fourq.get("valence_auc")), _count(fourq.get("n_songs")),
                 clip_r, clip_ccc, _count(clips.get("n_songs")), tuple(targets), _text(real.get("verdict")),
                 _text(real.get("interval"), 120))



def _real_level(real: _Real) -> tuple[str, list[str]]:
    """The level of ``validation_real`` figures (:data:`TRUST_RULES`) and why."""
    a, v, clip_v = real.arousal_auc, real.valence_auc, real.clip_r.get("valence")
    why = []
    if a is not None and a.value < _POOR_AROUSAL_AUC:
        why.append(f"arousal AUC {a.value:.2f} is below {_POOR_AROUSAL_AUC:.2f}")
    if v is not None and v.value < _POOR_VALENCE_AUC:
        why.append(f"valence AUC {v.value:.2f} is below {_POOR_VALENCE_AUC:.2f}")
    if clip_v is not None and clip_v.value <= 0.0:
        why.append(f"valence r with listeners is {clip_v.value:.2f}")
    if why:
        return "poor", why
    if a is not None and v is not None and a.value >= _GOOD_AROUSAL_AUC and v.value >= _GOOD_VALENCE_AUC:
        return "good", [f"arousal AUC {a.value:.2f} and valence AUC {v.value:.2f} reach {_GOOD_AROUSAL_AUC:.2f} "
                        f"and {_GOOD_VALENCE_AUC:.2f}"]
    return "limited", ["neither poor nor good by the thresholds"]



def _real_label(real: _Real) -> str:
    parts = []
    aucs = [f"{name} AUC {e}" for name, e in (("arousal", real.arousal_auc), ("valence", real.valence_auc)) if e]
    if aucs:
        songs = f"{real.n_4q} " if real.n_4q is not None else ""
        parts.append(", ".join(aucs) + f" on {songs}held-out 4Q clips")
    if real.clip_r:
        songs = f"{real.n_clips} " if real.n_clips is not None else ""
        parts.append(f"r with listeners on {songs}clips: "
                     + ", ".join(f"{t[0].upper()} {real.clip_r[t]}" for t in ("arousal", "valence")
                                 if t in real.clip_r))
    return "real music: " + "; ".join(parts)



@dataclass(frozen=True)
class TagSpread:
    """A tagger's tag scores across real songs (``tag_spread`` of its manifest entry).

    Attributes:
        table: one row per tag: ``tag, mean, std, min, max`` (scores 0-1), highest mean first.
        n_songs: how many songs the spread is over (None when not given).
        tag_auc: the mean over tags of each tag's ROC-AUC.
        quadrant_agreement: how often the quadrant read off the tags matches the song's.
        chance: the agreement by chance (0.25 for four quadrants).
        n_tags_scored: how many tags ``tag_auc`` is the mean over (those with songs on both sides).
    """

    table: pd.DataFrame
    n_songs: int | None = None
    tag_auc: Estimate | None = None
    quadrant_agreement: Estimate | None = None
    chance: float | None = None
    n_tags_scored: int | None = None

    @property
    def flat(self) -> bool:
        """Whether every tag's score barely moves from song to song (std below :data:`FLAT_TAG_STD`; False when
        no tag has figures)."""
        return not self.table.empty and bool((self.table["std"] < FLAT_TAG_STD).all())

    def summary(self) -> str:
        """``"mean tag ROC-AUC 0.71 [0.65, 0.77] over 5 tags, quadrant agreement 0.40 [0.31, 0.49] (chance 0.25)
        on 88 held-out 4Q songs"``."""
        parts = []
        if self.tag_auc is not None:
            over = f" over {self.n_tags_scored} tags" if self.n_tags_scored else ""
            parts.append(f"mean tag ROC-AUC {self.tag_auc}{over}")
        if self.quadrant_agreement is not None:
            chance = f" (chance {self.chance:.2f})" if self.chance is not None else ""
            parts.append(f"quadrant agreement {self.quadrant_agreement}{chance}")
        songs = f" on {self.n_songs} held-out 4Q songs" if self.n_songs is not None and parts else ""
        return ", ".join(parts) + songs



def tag_spread_of(entry: Any) -> TagSpread | None:
    """The ``tag_spread`` of a manifest entry, or None when it is missing or has nothing readable.

    Tags whose ``mean``/``std``/``min``/``max`` are not numbers in [0, 1] (std at least 0) are left out.
    """
    raw = _section(entry, "tag_spread")
    rows = []
    for tag, figures in _section(raw, "tags").items():
        if not isinstance(figures, Mapping):
            continue
        values = {k: _number(figures.get(k), 0.0, 1.0) for k in ("mean", "std", "min", "max")}
        if all(v is not None for v in values.values()) and values["min"] <= values["max"]:
            rows.append({"tag": str(tag), **values})
    table = pd.DataFrame(rows, columns=["tag", "mean", "std", "min", "max"])
    table = table.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    agreement = _section(raw, "quadrant_agreement")
    spread = TagSpread(table, _count(raw.get("n_songs")), _auc(raw.get("tag_auc_mean")), _auc(agreement),
                       _number(agreement.get("chance"), 0.0, 1.0), _count(raw.get("n_tags_scored")))
    if table.empty and spread.tag_auc is None and spread.quadrant_agreement is None:
        return None
    return spread



def _tag_level(spread: TagSpread) -> tuple[str, list[str]] | None:
    """The level of a tagger's ``tag_spread`` (:data:`TRUST_RULES`) and why; None when it says nothing."""
    auc, agree, chance = spread.tag_auc, spread.quadrant_agreement, spread.chance
    why = []
    if spread.flat:
        why.append(FLAT_TAGS)
    if auc is not None and auc.value < _POOR_TAG_AUC:
        why.append(f"mean tag ROC-AUC {auc.value:.2f} is below {_POOR_TAG_AUC:.2f}")
    if agree is not None and chance is not None and agree.value <= chance:
        why.append(f"quadrant agreement {agree.value:.2f} is no better than chance ({chance:.2f})")
    if why:
        return "poor", why
    if auc is None and agree is None:
        return None
    if (auc is not None and auc.value >= _GOOD_TAG_AUC and agree is not None and chance is not None
            and agree.lo is not None and agree.lo > chance):
        return "good", [f"mean tag ROC-AUC {auc.value:.2f} and quadrant agreement above chance"]
    return "limited", ["neither poor nor good by the thresholds"]



@dataclass(frozen=True)
class Trust:
    """How far to trust one checkpoint on real music.

    Attributes:
        key: the checkpoint.
        level: one of :data:`TRUST_LEVELS`.
        label: the figures in a line (``"real music: arousal AUC 0.92 [0.86, 0.96], ..."``), or
            :data:`UNVALIDATED`.
        verdict: the validation's own sentence, when it gave one.
        reasons: why the level (the thresholds that decided it).
        targets_met: ``(met, listed)`` of the validation's targets, when it listed any.
        interval: what the brackets are (e.g. ``"90 % percentile bootstrap over songs"``).
    """

    key: str
    level: str
    label: str
    verdict: str | None = None
    reasons: tuple[str, ...] = ()
    targets_met: tuple[int, int] | None = None
    interval: str | None = None

    @property
    def validated(self) -> bool:
        return self.level != "unvalidated"

    @property
    def badge(self) -> str:
        return TRUST_BADGES[self.level]



def trust_of(entry: Any) -> Trust:
    """How far to trust a checkpoint on real music, from its manifest entry.

    The level follows :data:`TRUST_RULES`: ``validation_real`` (4Q ROC-AUCs and r with listeners on clips)
    and, for taggers, ``tag_spread``; with both, the worse one counts. An entry without them, or with
    values that cannot be read (not a mapping, not finite numbers, AUCs outside [0, 1]), is
    ``"unvalidated"`` with the label :data:`UNVALIDATED`; this never raises.
    """
    key = str(entry.get("key", "?")) if isinstance(entry, Mapping) else "?"
    real = _real(entry)
    spread = tag_spread_of(entry)
    levels, labels, reasons = [], [], []
    if real.validated:
        level, why = _real_level(real)
        levels.append(level)
        reasons += why
        labels.append(_real_label(real))
    tagged = _tag_level(spread) if spread is not None else None
    if tagged is not None:
        levels.append(tagged[0])
        reasons += tagged[1]
        summary = spread.summary()
        flat = f"; {FLAT_TAGS}" if spread.flat else ""
        labels.append(("real music: " + summary if summary else "real music") + flat)
    if not levels:
        return Trust(key, "unvalidated", UNVALIDATED)
    worst = max(levels, key=TRUST_LEVELS.index)
    met = (sum(m for _, m in real.targets), len(real.targets)) if real.targets else None
    label = labels[0] if len(labels) == 1 else labels[0] + "; " + labels[1].removeprefix("real music: ")
    return Trust(key, worst, label, real.verdict if real.validated else None, tuple(reasons), met,
                 real.interval if real.validated else None)



_TRUST_COLUMNS = ["model", "kind", "trust", "4Q arousal AUC", "4Q valence AUC", "4Q songs", "clips arousal r",
                  "clips valence r", "clips arousal CCC", "clips valence CCC", "clip songs", "targets met",
                  "verdict", "trained on"]



def _shown(e: Estimate | None) -> str | None:
    return None if e is None else str(e)



def _baselines(entry: Any, n_4q: int | None, n_clips: int | None) -> list[dict[str, Any]]:
    """The baselines' figures on the songs of one checkpoint's validation: 4Q's ``baselines`` and the loudness
    level on the clips (one row with 4Q's ``loudness``/``loudness_level``)."""
    real = _section(entry, "validation_real")
    fourq, clips = _section(real, "4q"), _section(real, "clips")
    rows = []
    for name, figures in _section(fourq, "baselines").items():
        figures = figures if isinstance(figures, Mapping) else {}
        rows.append({"name": str(name), "4Q arousal AUC": _shown(_auc(figures.get("arousal_auc"))),
                     "4Q valence AUC": _shown(_auc(figures.get("valence_auc"))), "4Q songs": n_4q})
    clip_r, clip_ccc = _clip_figures(_section(clips, "loudness"))
    if clip_r or clip_ccc:
        found = next((row for row in rows if row["name"] in ("loudness", "loudness_level")), None)
        if found is None:
            found = {"name": "loudness_level"}
            rows.append(found)
        found.update({f"clips {t} r": _shown(clip_r.get(t)) for t in ("arousal", "valence")}
                     | {f"clips {t} CCC": _shown(clip_ccc.get(t)) for t in ("arousal", "valence")}
                     | {"clip songs": n_clips})
    return [row for row in rows if any(v is not None for k, v in row.items() if k != "name" and "songs" not in k)]



def _is_baseline(entry: Mapping[str, Any]) -> bool:
    """Whether a manifest entry is one of the baselines the others are measured against."""
    return (str(entry.get("key")) in BASELINE_KEYS or entry.get("baseline") is True
            or "baseline" in str(entry.get("family", "")).casefold())



def _source_names(entry: Any) -> str:
    sources = entry.get("training_sources") if isinstance(entry, Mapping) else None
    names = [str(s.get("name")) for s in sources if isinstance(s, Mapping) and s.get("name") is not None] \
        if isinstance(sources, list) else []
    if names:
        return ", ".join(names)
    return (str(entry.get("training_data", "")).split(":")[0].split(" (")[0] if isinstance(entry, Mapping)
            else "") or "n/a"



def trust_table(entries: Iterable[Any]) -> pd.DataFrame:
    """Every checkpoint's real-music figures, then the baselines' on the same songs.

    Args:
        entries: manifest entries (those of the loaded checkpoints, say); malformed figures read as
            unvalidated, and what is not a mapping at all is left out.

    Returns:
        One row per checkpoint (``kind`` "checkpoint"; a baseline's own checkpoint, :data:`BASELINE_KEYS`,
        ``"<key> (baseline checkpoint)"`` of kind "baseline"), then one per baseline scored on a checkpoint's
        songs (``kind`` "baseline", ``model`` "<name> (baseline)", e.g. "loudness level (baseline)"), with
        columns ``model, kind, trust, 4Q arousal AUC, 4Q valence AUC, 4Q songs, clips arousal r, clips valence r,
        clips arousal CCC, clips valence CCC, clip songs, targets met, verdict, trained on``; figures as ``"0.92 [0.86, 0.96]"`` text, None where absent.
        A baseline scored alike on every checkpoint's songs is listed once; otherwise once per checkpoint
        (``"<name> (baseline, songs of <key>)"``).
    """
    rows, baselines = [], {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        trust = trust_of(entry)
        real = _real(entry)
        own = _is_baseline(entry)
        rows.append({
            "model": f"{trust.key} (baseline checkpoint)" if own else trust.key,
            "kind": "baseline" if own else "checkpoint", "trust": trust.level,
            "4Q arousal AUC": _shown(real.arousal_auc), "4Q valence AUC": _shown(real.valence_auc),
            "4Q songs": real.n_4q if real.arousal_auc or real.valence_auc else None,
            **{f"clips {t} r": _shown(real.clip_r.get(t)) for t in ("arousal", "valence")},
            **{f"clips {t} CCC": _shown(real.clip_ccc.get(t)) for t in ("arousal", "valence")},
            "clip songs": real.n_clips if real.clip_r or real.clip_ccc else None,
            "targets met": f"{trust.targets_met[0]} of {trust.targets_met[1]}" if trust.targets_met else None,
            "verdict": trust.verdict, "trained on": _source_names(entry),
        })
        for row in _baselines(entry, real.n_4q, real.n_clips):
            figures = tuple(sorted((k, v) for k, v in row.items() if k != "name"))
            baselines.setdefault(row["name"], {}).setdefault(figures, []).append(trust.key)
    for name, versions in baselines.items():
        for figures, keys in versions.items():
            shown = name.replace("_", " ")
            label = f"{shown} (baseline)" if len(versions) == 1 else f"{shown} (baseline, songs of {keys[0]})"
            rows.append({"model": label, "kind": "baseline", "trust": None, **dict(figures),
                         "trained on": None})
    return pd.DataFrame(rows, columns=_TRUST_COLUMNS).astype({"4Q songs": "Int64", "clip songs": "Int64"})



def training_sources_table(entries: Iterable[Any]) -> pd.DataFrame:
    """What each checkpoint was trained on (``training_sources`` of its manifest entry), with the licences.

    Returns:
        Columns ``checkpoint, source, songs, weight, labels, licence``; an entry without readable
        ``training_sources`` gets one row naming its ``training_data`` (the other columns None).
    """
    rows = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        key = str(entry.get("key", "?"))
        sources = entry.get("training_sources")
        found = [s for s in sources if isinstance(s, Mapping) and _text(str(s.get("name") or ""))] \
            if isinstance(sources, list) else []
        for source in found:
            rows.append({"checkpoint": key, "source": _text(str(source["name"]), 120),
                         "songs": _count(source.get("songs")), "weight": _number(source.get("weight"), 0.0),
                         "labels": _text(source.get("labels"), 200), "licence": _text(source.get("licence"))})
        if not found:
            rows.append({"checkpoint": key, "source": _text(str(entry.get("training_data") or "")) or "n/a",
                         "songs": None, "weight": None, "labels": None, "licence": None})
    columns = ["checkpoint", "source", "songs", "weight", "labels", "licence"]
    return pd.DataFrame(rows, columns=columns).astype({"songs": "Int64", "weight": float})



def trained_on_summary(manifest: Any) -> str:
    """One line on what a checkpoint set was trained on, from its manifest's ``trained_on`` and ``created``
    (as ``python -m memo_core train-defaults`` writes them), e.g.
    ``"synth (memo-synth v2, seed 0, 150 songs of 45 s); made 2026-11-22 on x86_64, 2 cores"``.

    Sources with weights other than 1 show them (``"deam ×1, synth ×0.5"``); malformed or missing parts
    are left out, and a manifest with none readable gives ``"not stated in the manifest"``.
    """
    info = manifest if isinstance(manifest, Mapping) else {}
    trained = _section(info, "trained_on")
    sources = trained.get("sources")
    listed = [(_text(s.get("dataset"), 60), _number(s.get("weight"), 0.0)) for s in sources
              if isinstance(s, Mapping)] if isinstance(sources, list) else []
    listed = [(name, weight) for name, weight in listed if name]
    weighted = any(weight is not None and weight != 1.0 for _, weight in listed)
    names = [f"{name} ×{weight:g}" if weighted and weight is not None else name for name, weight in listed]
    if not names and _text(trained.get("dataset"), 120):
        listed = [(name, None) for name in _text(trained.get("dataset"), 120).split("+") if name]
        names = [name for name, _ in listed]
    corpus = _section(trained, "corpus")
    about = []
    if _text(corpus.get("name"), 40):
        version = _count(corpus.get("version"))
        about.append(_text(corpus.get("name"), 40) + (f" v{version}" if version is not None else ""))
    if _count(corpus.get("seed")) is not None:
        about.append(f"seed {_count(corpus.get('seed'))}")
    n_songs, seconds = _count(corpus.get("n_songs")), _number(corpus.get("duration_s"), 0.0)
    if n_songs is not None:
        about.append(f"{n_songs} songs" + (f" of {seconds:g} s" if seconds else ""))
    if about:
        synth = next((i for i, (name, _) in enumerate(listed) if name == "synth"), None)
        if synth is not None and names:
            names[synth] += f" ({', '.join(about)})"
        else:
            names.append(f"synthetic corpus ({', '.join(about)})")
    made = _text(info.get("created"), 40)
    when = [part for part in (made[:10] if made else None, _text(trained.get("machine"), 80)) if part]
    return ((", ".join(names) if names else "not stated in the manifest")
            + ("; made " + " on ".join(when) if when else ""))



# --------------------------------------------------------------------------- brief cues beside a prediction


#: Plain names of training sources, for a reader who does not know the datasets' names.
_PLAIN_SOURCES = {"synth": "synthetic songs rendered from MIDI", "4q": "4Q real 30 s clips",
                  "vgmidi_rendered": "VGMIDI piano pieces rendered from MIDI",
                  "emopia_rendered": "EMOPIA piano clips rendered from MIDI", "deam": "DEAM real songs",
                  "emomusic": "emoMusic real clips", "pmemo": "PMEmo real choruses",
                  "mtg_jamendo": "MTG-Jamendo real songs"}


def trained_on_brief(entry: Any) -> str:
    """What one checkpoint learned from, in a few words: ``"synthetic songs rendered from MIDI (106 songs:
    dynamic valence/arousal curves) + 4Q real 30 s clips (263 songs: clip-level signs of valence/arousal)"``,
    from ``training_sources`` (else the first words of ``training_data``; ``"not stated"`` without either)."""
    sources = entry.get("training_sources") if isinstance(entry, Mapping) else None
    parts = []
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, Mapping):
            continue
        name = _text(str(source.get("dataset") or source.get("name") or ""), 60)
        if not name:
            continue
        songs = source.get("songs")
        n = _count(songs.get("train")) if isinstance(songs, Mapping) else _count(songs)
        labels = _text(source.get("labels"), 120)
        labels = labels.split(" (")[0] if labels else None
        about = "; ".join(x for x in (f"{n} songs" if n is not None else None, labels) if x)
        parts.append(_PLAIN_SOURCES.get(name, name) + (f" ({about})" if about else ""))
    if parts:
        return " + ".join(parts)
    data = _text(entry.get("training_data"), 200) if isinstance(entry, Mapping) else None
    return data.split(":")[0].split(";")[0] if data else "not stated"


def trust_brief(entry: Any) -> str:
    """How one checkpoint scored on real recordings, in a line: ``"🟡 limited: 4Q arousal AUC 0.92, valence AUC
    0.78 on 88 held-out clips; r with listeners A 0.71, V 0.20 on 6 clips"`` (figures without their
    intervals; a tagger's mean tag ROC-AUC and quadrant agreement), or ``"⚪ not validated on real recordings"``."""
    trust = trust_of(entry)
    if not trust.validated:
        return f"{trust.badge} {UNVALIDATED}"
    real, spread, parts = _real(entry), tag_spread_of(entry), []
    aucs = [f"{name} AUC {e.value:.2f}" for name, e in (("arousal", real.arousal_auc), ("valence", real.valence_auc))
            if e is not None]
    if aucs:
        parts.append("4Q " + ", ".join(aucs) + (f" on {real.n_4q} held-out clips" if real.n_4q is not None else ""))
    if real.clip_r:
        parts.append("r with listeners " + ", ".join(f"{t[0].upper()} {real.clip_r[t].value:.2f}"
                                                     for t in ("arousal", "valence") if t in real.clip_r)
                     + (f" on {real.n_clips} clips" if real.n_clips is not None else ""))
    if spread is not None:
        if spread.tag_auc is not None:
            parts.append(f"mean tag ROC-AUC {spread.tag_auc.value:.2f}")
        if spread.quadrant_agreement is not None:
            chance = f" (chance {spread.chance:.2f})" if spread.chance is not None else ""
            parts.append(f"quadrant agreement {spread.quadrant_agreement.value:.2f}{chance}")
        if spread.flat:
            parts.append(FLAT_TAGS)
    return f"{trust.badge} {trust.level}: " + "; ".join(parts)


#: A tag *stands out* for a song when its score is at least this many standard deviations (over real songs)
#: from the tagger's mean score on real songs.
TAG_STANDS_OUT = 2.0


def tag_contrast(predictions: pd.DataFrame, spread: TagSpread | None) -> pd.DataFrame:
    """A song's tag scores against what the tagger gives real songs (its manifest's ``tag_spread``).

    Args:
        predictions: a tagger's (or the late fusion's) ``tag, score, threshold, predicted`` table.
        spread: the tagger's :class:`TagSpread` (for a fusion, e.g. its members' spreads averaged by the
            caller), or None.

    Returns:
        One row per tag of ``predictions``: ``tag, score, threshold, predicted, real mean, real sd, contrast,
        reading``. ``contrast`` is ``(score - real mean) / real sd`` (NaN without figures for the tag);
        ``reading`` is ``"higher than on most songs"``, ``"lower than on most songs"`` (beyond
        :data:`TAG_STANDS_OUT`), ``"as on most songs"``, or ``"not known"``. Sorted by score, highest first.
    """
    table = predictions[["tag", "score", "threshold", "predicted"]].copy()
    figures = spread.table.set_index("tag") if spread is not None and not spread.table.empty else None
    mean = table["tag"].map(figures["mean"]) if figures is not None else pd.Series(np.nan, index=table.index)
    std = table["tag"].map(figures["std"]) if figures is not None else pd.Series(np.nan, index=table.index)
    table["real mean"] = mean.astype(float)
    table["real sd"] = std.astype(float)
    sd = table["real sd"].where(table["real sd"] > 0)
    table["contrast"] = (table["score"] - table["real mean"]) / sd
    table["reading"] = np.select([table["contrast"] >= TAG_STANDS_OUT, table["contrast"] <= -TAG_STANDS_OUT,
                                  table["contrast"].notna()],
                                 ["higher than on most songs", "lower than on most songs", "as on most songs"],
                                 "not known")
    return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def tags_stand_out(contrast: pd.DataFrame) -> bool | None:
    """Whether any predicted tag stands out from real songs (:data:`TAG_STANDS_OUT`); None when no predicted tag
    has figures to judge by (no ``tag_spread``), False also when no tag is predicted."""
    predicted = contrast[contrast["predicted"].astype(bool)]
    known = predicted[predicted["contrast"].notna()]
    if predicted.empty:
        return False
    if known.empty:
        return None
    return bool((known["contrast"].abs() >= TAG_STANDS_OUT).any())

