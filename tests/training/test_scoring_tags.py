"""Tag metrics: AUCs over the tags a test set can score, F1 at validation thresholds, late fusion."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from memo_core.errors import MemoError
from memo_core.training.scoring import format_metrics, paper_metrics, tag_metrics


def _data():
    rng = np.random.default_rng(0)
    y = (rng.random((40, 5)) < 0.3).astype(np.float32)
    y[:, 3] = 0  # a tag no test song has: no ROC-AUC
    y[0, 0], y[1, 0] = 1, 0
    scores = np.clip(0.5 * y + 0.6 * rng.random((40, 5)), 0, 1)
    return y, scores


def test_aucs_skip_tags_without_both_classes():
    y, scores = _data()
    report = tag_metrics(y, scores)
    keep = [0, 1, 2, 4]
    assert report["n_tags_scored"] == 4
    assert report["ROC-AUC-macro"] == pytest.approx(skm.roc_auc_score(y[:, keep], scores[:, keep], average="macro"))
    assert report["PR-AUC-macro"] == pytest.approx(
        skm.average_precision_score(y[:, keep], scores[:, keep], average="macro"))
    assert "F1-macro" not in report


def test_f1_uses_the_given_thresholds_over_all_tags():
    y, scores = _data()
    thresholds = np.array([0.3, 0.5, 0.7, 0.5, 0.4])
    report = tag_metrics(y, scores, thresholds)
    decided = scores >= thresholds
    assert report["F1-macro"] == pytest.approx(skm.f1_score(y, decided, average="macro", zero_division=0))
    assert report["precision-macro"] == pytest.approx(
        skm.precision_score(y, decided, average="macro", zero_division=0))
    # other thresholds give another F1: the figure depends on them
    assert tag_metrics(y, scores, thresholds + 0.2)["F1-macro"] != pytest.approx(report["F1-macro"])


def test_no_scorable_tag_is_a_clear_error():
    with pytest.raises(MemoError, match="ROC-AUC is undefined"):
        tag_metrics(np.zeros((4, 3)), np.random.default_rng(0).random((4, 3)))


def test_tag_reports_print_and_filter():
    y, scores = _data()
    report = tag_metrics(y, scores)
    text = format_metrics(report, highlight=("ROC-AUC-macro",))
    assert text.splitlines()[1].startswith("ROC-AUC-macro*")
    assert set(paper_metrics(report, "tagging")) == {"ROC-AUC-macro", "PR-AUC-macro"}


def test_late_fusion_is_the_mean_of_the_members_scores():
    import torch

    from memo_core.data.sequences import Normalizer
    from memo_core.data.tags import TagExample
    from memo_core.models.registry import get_model
    from memo_core.training.scoring import late_fusion_scores, predict_tag_scores

    rng = np.random.default_rng(0)
    examples = [TagExample(str(i), rng.standard_normal((1400, 96)).astype(np.float32),
                           (rng.random(4) < 0.5).astype(np.float32), ("a", "b", "c", "d"), 256 / 12000)
                for i in range(3)]
    norm = Normalizer.fit(examples)
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        members.append((get_model("vggish", "tiny", n_targets=4).eval(), norm))
    fused = late_fusion_scores(members, examples)
    alone = [predict_tag_scores(m, examples, n) for m, n in members]
    assert not np.allclose(alone[0], alone[1])
    np.testing.assert_allclose(fused, (alone[0] + alone[1]) / 2, rtol=1e-6)
    with pytest.raises(MemoError, match="at least two"):
        late_fusion_scores(members[:1], examples)
    torch.manual_seed(2)
    with pytest.raises(MemoError, match="one tag list"):
        late_fusion_scores([members[0], (get_model("vggish", "tiny", n_targets=5).eval(), norm)], examples)
