"""memo_core.experiments.compare.compare_models: fusion groups are checked before any model trains."""

import pytest

from memo_core.errors import MemoError
from memo_core.experiments import compare as report


@pytest.fixture
def no_training(monkeypatch, tmp_path):
    """Fail loudly if compare_models got as far as loading data or training."""
    def refuse(*args, **kwargs):
        raise AssertionError("compare_models started work before checking the fusions")

    monkeypatch.setattr(report, "load_dataset", refuse)
    monkeypatch.setattr(report, "train_model", refuse)
    return tmp_path


@pytest.mark.parametrize("lineup, fusions, message", [
    ([("vggish", "tiny"), ("mlr", "tiny")], [(("vggish", "tiny"), ("vggish", "tiny_sa3"))],
     r"vggish:tiny_sa3: add them to the line-up"),
    ([("vggish", "tiny"), ("mlr", "tiny")], [(("vggish", "tiny"), ("mlr", "tiny"))], r"mlr:tiny is not a tagger"),
    ([("vggish", "tiny")], [(("vggish", "tiny"),)], r"at least two taggers"),
], ids=["not-in-lineup", "not-a-tagger", "one-member"])
def test_bad_fusions_are_refused_before_training(no_training, lineup, fusions, message):
    with pytest.raises(MemoError, match=message):
        report.compare_models(dataset="synth", root=str(no_training), lineup=lineup, fusions=fusions,
                              progress=False)


def test_paper_fusions_pass_the_check_with_their_taggers():
    members = {m for group in report.TAGGER_FUSIONS for m in group}
    report._check_fusions(report.TAGGER_FUSIONS, sorted(members))
