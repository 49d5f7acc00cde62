"""Every registered model learns something real: a few epochs on the synthetic corpus lower the validation loss.

Marked slow (``-m slow``): a 20-song corpus and 15 epochs of every frame-feature model take minutes on two cores.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from memo_core.data import load_dataset
from memo_core.data.batching import collate
from memo_core.data.sequences import Normalizer, build_examples
from memo_core.models.registry import get_model, list_models, model_class
from memo_core.training.loop import TrainConfig, fit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus_examples(tmp_path_factory):
    from memo_core.data.synth import generate_corpus

    root = generate_corpus(tmp_path_factory.mktemp("learn") / "corpus", n_songs=20, seed=3, duration_s=25.0,
                           workers=2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        examples = build_examples(load_dataset("synth", root), features="spectral", progress=False)
    normalizer = Normalizer.fit(examples[:16])
    return normalizer.apply_examples(examples[:16]), normalizer.apply_examples(examples[16:])


def _val_mse(model, val) -> float:
    batch = collate(val)
    model.eval()
    with torch.no_grad():
        pred = model(batch.x, batch.lengths).prediction
    mask = batch.mask.unsqueeze(-1).expand_as(pred)
    return float(((pred - batch.y)[mask] ** 2).mean())


# A-LSTM's tiny preset fits the 16 training songs (training loss 0.082 -> 0.005 in 15 epochs) but its
# validation MSE never drops below its initial 0.076 on this little data (best epoch 4: 0.086). What it does
# achieve is asserted instead: see the test's docstring.
_OVERFITS_TINY_DATA = {"ma_alstm"}


# The models that read the 500 ms feature sets; DAMFF (log-mel steps) and the tagger (mel96, tags)
# have their own learning tests in test_damff.py and test_vggish.py.
_FRAME_FEATURE_MODELS = [n for n in list_models()
                         if model_class(n).task == "regression" and not getattr(model_class(n), "default_features", None)]


@pytest.mark.parametrize("name", _FRAME_FEATURE_MODELS)
def test_a_few_epochs_lower_the_validation_loss(name, corpus_examples):
    """A few epochs lower the validation MSE; for the models in :data:`_OVERFITS_TINY_DATA` (A-LSTM), which
    overfit 16 songs, what they do achieve instead: the kept model's MSE on its training songs halves, and
    keeping the best epoch holds its validation MSE within 1.25x of the untrained model's (measured: training
    0.086 -> 0.030, validation 0.076 -> 0.086). It used to be ``xfail(strict=False)``, which passed whatever
    happened; this checks something that holds."""
    train, val = corpus_examples
    torch.manual_seed(0)
    model = get_model(name, "tiny", n_features=train[0].n_features, n_targets=2)
    before = _val_mse(model, val)
    fit_before = _val_mse(model, train)
    # The same short schedule for every model (the papers' own schedules are for thousands of songs):
    # what is tested is that the model's forward, loss and hooks let it learn at all.
    epochs = 0 if model.train_defaults().get("max_epochs") == 0 else 15
    history = fit(model, train, val, TrainConfig(optimizer="adam", lr=3e-3, batch_size=4, max_epochs=epochs,
                                                 patience=None, seed=0))
    assert history.epochs_run == epochs
    if epochs:
        assert history.train_loss[-1] < 0.5 * history.train_loss[0], f"{name} did not fit its training songs"
    after = _val_mse(model, val)
    if name in _OVERFITS_TINY_DATA:
        fit_after = _val_mse(model, train)
        assert fit_after < 0.5 * fit_before, f"{name}: training-song MSE {fit_before:.4f} -> {fit_after:.4f}"
        assert after < 1.25 * before, f"{name}: validation MSE {before:.4f} -> {after:.4f}"
        return
    assert after < before, f"{name}: validation MSE {before:.4f} -> {after:.4f}"
