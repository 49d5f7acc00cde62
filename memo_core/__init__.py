"""MEMO: explainable dynamic music emotion recognition.

Subpackages: :mod:`memo_core.audio` (loading), :mod:`memo_core.features`
(openSMILE and librosa extractors with an on-disk cache), :mod:`memo_core.data`
(dataset loaders, the synthetic corpus, splits), :mod:`memo_core.metrics`.
Nothing is imported eagerly so ``python -m memo_core --help`` stays fast.
"""

__version__ = "0.1.0"
