"""The licence and citation terms of every label source MEMO can train on.

A model inherits the terms of the labels it was trained on, so anything that
ships a model or a rendered corpus (``corpus.json`` of
:func:`memo_core.data.midi_render.render_midi_dataset`, a checkpoint's
metadata) should carry the matching line of :data:`SOURCE_LICENCES`.

>>> from memo_core.data.licences import source_licence
>>> source_licence("emopia")[:15]
'CC BY-NC-SA 4.0'
"""

from __future__ import annotations

from memo_core.errors import DatasetError

__all__ = ["SOURCE_LICENCES", "DATASET_LICENCES", "VGMIDI_CITATION", "EMOPIA_CITATION", "FOURQ_CITATION",
           "source_licence", "licence_of"]

VGMIDI_CITATION = ("L. N. Ferreira and J. Whitehead, 'Learning to Generate Music with Sentiment', "
                   "Proc. ISMIR 2019")
EMOPIA_CITATION = ("H.-T. Hung, J. Ching, S. Doh, N. Kim, J. Nam and Y.-H. Yang, 'EMOPIA: A Multi-Modal Pop Piano "
                   "Dataset for Emotion Recognition and Emotion-based Music Generation', Proc. ISMIR 2021")
FOURQ_CITATION = ("R. Panda, R. Malheiro and R. P. Paiva, 'Novel audio features for music emotion recognition', "
                  "IEEE Transactions on Affective Computing, 2018")

#: Label source -> its terms, one line each, the licence first (``"vgmidi"``, ``"emopia"``, ``"4q"``, ``"synth"``).
SOURCE_LICENCES: dict[str, str] = {
    "vgmidi": ("no licence file; cite Ferreira & Whitehead, ISMIR 2019 (VGMIDI); copyrighted video-game music: "
               "research use only, never redistribute the MIDI files or audio rendered from them"),
    "emopia": ("CC BY-NC-SA 4.0 (EMOPIA, Hung et al., ISMIR 2021): models trained on it inherit the "
               "non-commercial, share-alike terms"),
    "4q": "no licence stated; cite Panda, Malheiro & Paiva, IEEE TAFFC 2018; commercial recordings, research use only",
    "synth": "MEMO synthetic corpus (rendered by the project; TimGM6mb/FluidR3 soundfonts)",
}

#: Other datasets a loader reads (the user's own copy): the terms as their authors state them, briefly.
DATASET_LICENCES: dict[str, str] = {
    "deam": ("annotations for research, cite Aljanaki, Yang & Soleymani 2017 (DEAM); the audio keeps its own "
             "(mostly Creative Commons) licences"),
    "emomusic": ("cite Soleymani et al. 2013 (emoMusic, 1000 Songs); the audio keeps its own "
                 "(Free Music Archive, Creative Commons) licences"),
    "pmemo": "research use, cite Zhang et al. 2018 (PMEmo); commercial recordings, never redistribute",
    "mtg_jamendo": ("CC BY-NC-SA 4.0 metadata and annotations (MTG-Jamendo, Bogdanov et al. 2019); the audio keeps "
                    "its Creative Commons licences"),
    "generic": "your own data: its terms are yours to check",
}

_UNKNOWN = "unknown: check the dataset's own terms before shipping a model trained on it"


def licence_of(dataset: str) -> str:
    """The terms line for a loaded dataset's name (``load.dataset``); never raises.

    ``"emopia_rendered"`` and ``"vgmidi_rendered"`` (audio rendered by
    :mod:`memo_core.data.midi_render`) carry their labels' terms.

    Args:
        dataset: a registry name, optionally with a ``_rendered`` suffix.

    Returns:
        The line from :data:`SOURCE_LICENCES` or :data:`DATASET_LICENCES`, else a
        line saying the terms are unknown.
    """
    key = str(dataset).removesuffix("_rendered")
    return SOURCE_LICENCES.get(key) or DATASET_LICENCES.get(key) or _UNKNOWN


def source_licence(source: str) -> str:
    """The terms line of a label source, for ``"vgmidi_rendered"`` as well as ``"vgmidi"``.

    Args:
        source: a :data:`SOURCE_LICENCES` key, optionally with a ``_rendered`` suffix.

    Returns:
        The terms line.

    Raises:
        DatasetError: a source with no recorded terms.
    """
    key = str(source).removesuffix("_rendered")
    if key not in SOURCE_LICENCES:
        raise DatasetError(f"no licence recorded for the label source {source!r}; known: "
                           + ", ".join(sorted(SOURCE_LICENCES)))
    return SOURCE_LICENCES[key]
