"""Deletion-test summaries as ``validate-real`` stores them in the manifest (:func:`memo_core.explain.faithfulness.summarise`
of per-song results made up here), and the notes a page writes beside its maps."""

from __future__ import annotations

from memo_core.explain.faithfulness import summarise

SONG = "Does this map matter? On this song:"
REAL = "On the real validation clips:"


def deletion_summary(name: str, ratios, *, subject: str = "the 10 most attended frames",
                     baseline: str = "10 random frames") -> dict:
    results = [{"maps": {name: {"kind": "deletion", "map": name, "method": "m", "unit": "frame", "k": 10,
                                "subject": subject, "baseline": baseline, "attended_shift": r, "random_shift": 1.0,
                                "ratio": r, "better_than_random": r > 1.5, "sentence": "s"}}} for r in ratios]
    return summarise(results)


def scale_summary(name: str, shifts, weights, *, n_songs: int = 3, weight_name: str = "mean weight",
                  top_phrase: str = "the highest-weighted scale") -> dict:
    rows = [{"scale": s, "label": f"{s} frames", "weight": w, "shift": x, "mean_shift": x}
            for s, w, x in zip((5, 10, 20, 40), weights, shifts)]
    top, moving = max(range(len(rows)), key=lambda i: weights[i]), max(range(len(rows)), key=lambda i: shifts[i])
    others = (sum(shifts) - shifts[top]) / (len(shifts) - 1)
    test = {"kind": "scales", "map": name, "method": "m", "weight_name": weight_name, "top_phrase": top_phrase,
            "scales": rows, "agrees": top == moving, "ratio": shifts[top] / others, "sentence": "s"}
    return summarise([{"maps": {name: dict(test, ratio=test["ratio"] * f)}} for f in (0.9, 1.0, 1.1)[:n_songs]])


def notes(app) -> list[tuple[str, str]]:
    """``(element kind, text)`` of every faithfulness note on the page, in page order within each kind."""
    return [(kind, str(e.value)) for kind in ("markdown", "warning", "info") for e in app.get(kind)
            if SONG in str(e.value) or REAL in str(e.value)]
