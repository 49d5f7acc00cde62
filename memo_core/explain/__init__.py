"""From one song and checkpoints to results and display-ready arrays.

:mod:`~memo_core.explain.explanation` runs one checkpoint on one song (:func:`explain_song`);
:mod:`~memo_core.explain.analysis` runs a set of them with a cache (``analyse_song``);
:mod:`~memo_core.explain.faithfulness` tests the maps by deletion. The view builders mirror the
dashboard's pages: :mod:`~memo_core.explain.song`, :mod:`~memo_core.explain.trust`,
:mod:`~memo_core.explain.familiarity` (is the song like the training songs, is it silent),
:mod:`~memo_core.explain.attention`, :mod:`~memo_core.explain.multiscale`,
:mod:`~memo_core.explain.damff`, :mod:`~memo_core.explain.tags`, :mod:`~memo_core.explain.compare`,
:mod:`~memo_core.explain.lab` (how models followed a design), :mod:`~memo_core.explain.ab` (two curves or maps
and their difference), :mod:`~memo_core.explain.structure` (beats and sections),
:mod:`~memo_core.explain.coverage` (where a corpus is thin); :mod:`~memo_core.explain.report` writes a one-page
HTML report of a song's analysis.
"""

from memo_core.explain.explanation import (
    SongExplanation,
    explain_features,
    explain_song,
    fuse_tag_explanations,
    read_explanations_npz,
    write_explanations_npz,
    write_predictions_csv,
)

__all__ = ["SongExplanation", "explain_features", "explain_song", "fuse_tag_explanations", "read_explanations_npz",
           "write_explanations_npz", "write_predictions_csv"]
