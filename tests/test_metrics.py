"""memo_core.metrics against hand-computed values and invalid input (as mir_eval's tests do)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from memo_core import metrics as M
from memo_core.errors import MemoError, MetricError

FRAME_METRICS = [M.rmse, M.mae, M.pearson_r, M.ccc, M.r2, M.kendall_tau]


# --------------------------------------------------------------------------- frame metrics, by hand


def test_rmse_and_mae_by_hand():
    assert M.rmse([0, 0], [3, 4]) == pytest.approx(math.sqrt(12.5))
    assert M.mae([0, 0], [3, -4]) == pytest.approx(3.5)
    assert M.rmse([1.5, -2.0], [1.5, -2.0]) == 0.0


def test_pearson_by_hand():
    # dt = [-1, 0, 1], dp = [-7/3, -1/3, 8/3]: r = 5 / sqrt(2 * 114/9) = 15 / sqrt(228)
    assert M.pearson_r([1, 2, 3], [2, 4, 7]) == pytest.approx(15 / math.sqrt(228))
    assert M.pearson_r([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_pearson_is_nan_for_constant_series():
    assert math.isnan(M.pearson_r([1, 1, 1], [1, 2, 3]))
    assert math.isnan(M.pearson_r([1, 2, 3], [0, 0, 0]))
    assert math.isnan(M.pearson_r([1.0], [2.0]))


def test_ccc_by_hand():
    y = np.array([1.0, 2.0, 3.0])
    assert M.ccc(y, y) == pytest.approx(1.0)
    # var_t = var_p = cov = 2/3 (population); mean shift 1: 2*(2/3) / (2/3 + 2/3 + 1) = 4/7
    assert M.ccc(y, y + 1) == pytest.approx(4 / 7)
    # Pearson ignores the shift, CCC does not.
    assert M.pearson_r(y, y + 1) == pytest.approx(1.0)
    # Scale: p = 2y -> cov = 4/3, var_p = 8/3, shift 2: 8/3 / (2/3 + 8/3 + 4) = 4/11
    assert M.ccc(y, 2 * y) == pytest.approx(4 / 11)


def test_ccc_constant_cases():
    assert M.ccc([2, 2, 2], [3, 3, 3]) == 0.0
    assert math.isnan(M.ccc([2, 2, 2], [2, 2, 2]))


def test_r2_by_hand():
    y = np.array([1.0, 2.0, 3.0])
    assert M.r2(y, y) == pytest.approx(1.0)
    assert M.r2(y, np.full(3, y.mean())) == pytest.approx(0.0)
    # SS_res = 1, SS_tot = 2
    assert M.r2(y, [1, 2, 4]) == pytest.approx(0.5)
    assert M.r2(y, [3, 2, 1]) == pytest.approx(1 - 8 / 2)
    assert math.isnan(M.r2([5, 5, 5], [5, 5, 6]))


def test_kendall_tau_by_hand():
    # one discordant pair of six: (5 - 1) / 6
    assert M.kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(2 / 3)
    assert M.kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # tau-b with one tie in y_pred: (2 - 0) / sqrt(3 * 2)
    assert M.kendall_tau([1, 2, 3], [1, 1, 2]) == pytest.approx(2 / math.sqrt(6))
    assert math.isnan(M.kendall_tau([1, 1, 1], [1, 2, 3]))


@pytest.mark.parametrize("metric", FRAME_METRICS)
def test_frame_metrics_return_python_floats_and_accept_float32(metric):
    rng = np.random.default_rng(0)
    t, p = rng.standard_normal(20), rng.standard_normal(20)
    value = metric(t.astype(np.float32), p.astype(np.float32))
    assert type(value) is float
    assert value == pytest.approx(metric(t, p), abs=1e-5)


# --------------------------------------------------------------------------- per song vs pooled


def test_per_song_and_pooled_rmse_differ_on_crafted_example():
    songs_true = [np.zeros(2), np.zeros(8)]
    songs_pred = [np.ones(2), np.zeros(8)]
    assert M.per_song(M.rmse, songs_true, songs_pred) == pytest.approx(0.5)  # mean(1, 0)
    assert M.pooled(M.rmse, songs_true, songs_pred) == pytest.approx(math.sqrt(2 / 10))


def test_per_song_and_pooled_correlation_differ():
    # Each song is tracked perfectly, but the levels between songs are inverted.
    songs_true = [np.array([0.0, 1.0]), np.array([2.0, 3.0])]
    songs_pred = [np.array([1.0, 2.0]), np.array([0.0, 1.0])]
    assert M.per_song(M.pearson_r, songs_true, songs_pred) == pytest.approx(1.0)
    # dt = [-1.5, -.5, .5, 1.5], dp = [0, 1, -1, 0]: r = -1 / sqrt(5 * 2)
    assert M.pooled(M.pearson_r, songs_true, songs_pred) == pytest.approx(-1 / math.sqrt(10))


def test_per_song_skips_undefined_songs():
    songs_true = [np.array([1.0, 2.0, 3.0]), np.array([4.0, 4.0, 4.0])]
    songs_pred = [np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 3.0])]
    assert M.per_song(M.pearson_r, songs_true, songs_pred) == pytest.approx(-1.0)
    assert math.isnan(M.per_song(M.pearson_r, songs_true[1:], songs_pred[1:]))


def test_kendall_tau_per_song_is_the_mean_over_songs():
    songs_true = [[1, 2, 3, 4], [1, 2, 3, 4]]
    songs_pred = [[1, 3, 2, 4], [4, 3, 2, 1]]
    assert M.kendall_tau_per_song(songs_true, songs_pred) == pytest.approx((2 / 3 - 1) / 2)


# --------------------------------------------------------------------------- Cronbach's alpha


def test_cronbach_alpha_by_hand():
    # rows = samples, columns = raters. var(col) = 1 and 1/3; var(row sums [3, 5, 6]) = 7/3.
    # alpha = 2/1 * (1 - (4/3) / (7/3)) = 6/7
    ratings = np.array([[1, 2], [2, 3], [3, 3]])
    assert M.cronbach_alpha(ratings) == pytest.approx(6 / 7)


def test_cronbach_alpha_of_consistent_raters_is_one():
    x = np.array([0.1, 0.5, -0.3, 0.8, 0.2])
    assert M.cronbach_alpha(np.stack([x, x, x], axis=1)) == pytest.approx(1.0)
    # A constant offset per rater does not change the variances.
    assert M.cronbach_alpha(np.stack([x, x + 1, x - 2], axis=1)) == pytest.approx(1.0)


def test_cronbach_alpha_orientation_matters():
    ratings = np.array([[1, 2], [2, 3], [3, 3]])
    # Transposed, the same numbers read as 3 raters of 2 samples and give another value.
    assert M.cronbach_alpha(ratings.T) != pytest.approx(M.cronbach_alpha(ratings))


def test_cronbach_alpha_nan_when_total_is_constant():
    assert math.isnan(M.cronbach_alpha([[1, 3], [2, 2], [3, 1]]))


# --------------------------------------------------------------------------- tagging

Y_TAGS = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
S_TAGS = np.array([[0.9, 0.2], [0.1, 0.8], [0.4, 0.3], [0.5, 0.1]])


def test_roc_auc_macro_by_hand():
    # tag 0: positives {.9, .4} vs negatives {.1, .5}: 3 of 4 pairs ordered; tag 1: 4 of 4.
    assert M.roc_auc_macro(Y_TAGS, S_TAGS) == pytest.approx((0.75 + 1.0) / 2)
    assert M.roc_auc_macro(Y_TAGS, S_TAGS) == pytest.approx(skm.roc_auc_score(Y_TAGS, S_TAGS, average="macro"))


def test_pr_auc_macro_by_hand():
    # tag 0 ranked: P(.9) N(.5) P(.4) N(.1): AP = .5 * 1 + .5 * 2/3 = 5/6; tag 1: AP = 1.
    assert M.pr_auc_macro(Y_TAGS, S_TAGS) == pytest.approx((5 / 6 + 1) / 2)
    assert M.pr_auc_macro(Y_TAGS, S_TAGS) == pytest.approx(
        skm.average_precision_score(Y_TAGS, S_TAGS, average="macro")
    )


def test_tagging_report_names_and_values():
    report = M.tagging_report(Y_TAGS.astype(bool), S_TAGS)
    assert report == {"ROC-AUC-macro": pytest.approx(0.875), "PR-AUC-macro": pytest.approx(11 / 12)}


def test_tagging_report_is_the_two_macro_averages(monkeypatch):
    """The report computes nothing of its own: it calls roc_auc_macro and pr_auc_macro."""
    calls = []
    monkeypatch.setattr(M, "roc_auc_macro", lambda t, s, **k: calls.append("roc") or 0.1)
    monkeypatch.setattr(M, "pr_auc_macro", lambda t, s, **k: calls.append("pr") or 0.2)
    assert M.tagging_report(Y_TAGS, S_TAGS) == {"ROC-AUC-macro": 0.1, "PR-AUC-macro": 0.2}
    assert calls == ["roc", "pr"]


def test_degenerate_tag_raises_by_default():
    y = np.column_stack([Y_TAGS, np.zeros(4, dtype=int)])
    s = np.column_stack([S_TAGS, np.linspace(0, 1, 4)])
    for fn in (M.roc_auc_macro, M.pr_auc_macro, M.tagging_report):
        with pytest.raises(MetricError, match=r"1 of 3 tag\(s\) \(columns \[2\]\) have only one class"):
            fn(y, s)


def test_degenerate_tag_skipped_on_request_with_one_warning():
    y = np.column_stack([np.ones(4, dtype=int), Y_TAGS])
    s = np.column_stack([np.linspace(0, 1, 4), S_TAGS])
    with pytest.warns(UserWarning, match=r"1 of 3 tag\(s\) \(columns \[0\]\)") as record:
        report = M.tagging_report(y, s, skip_degenerate=True)
    assert len(record) == 1
    assert report == {"ROC-AUC-macro": pytest.approx(0.875), "PR-AUC-macro": pytest.approx(11 / 12)}
    with pytest.warns(UserWarning):
        assert M.roc_auc_macro(y, s, skip_degenerate=True) == pytest.approx(0.875)


def test_all_tags_degenerate_raises_even_when_skipping():
    with pytest.raises(MetricError, match="all 2 of 2 tag"):
        M.roc_auc_macro(np.zeros((3, 2)), np.ones((3, 2)), skip_degenerate=True)


# --------------------------------------------------------------------------- regression report


def _songs():
    rng = np.random.default_rng(1)
    true = {t: [rng.standard_normal(n) for n in (10, 15, 7)] for t in ("valence", "arousal")}
    pred = {t: [x + 0.3 * rng.standard_normal(x.size) for x in true[t]] for t in true}
    return true, pred


def test_regression_report_names_and_aggregation():
    true, pred = _songs()
    report = M.regression_report(true, pred)
    suffixes = ["RMSE", "RMSE-per-song", "MAE", "r", "r-per-song", "CCC", "CCC-per-song", "R2", "tau-per-song"]
    assert list(report) == [f"{t}/{s}" for t in ("valence", "arousal") for s in suffixes]
    assert all(type(v) is float and math.isfinite(v) for v in report.values())
    a_t, a_p = true["arousal"], pred["arousal"]
    assert report["arousal/RMSE"] == pytest.approx(M.rmse(np.concatenate(a_t), np.concatenate(a_p)))
    assert report["arousal/RMSE-per-song"] == pytest.approx(np.mean([M.rmse(t, p) for t, p in zip(a_t, a_p)]))
    assert report["arousal/CCC-per-song"] == pytest.approx(np.mean([M.ccc(t, p) for t, p in zip(a_t, a_p)]))
    assert report["arousal/r-per-song"] == pytest.approx(np.mean([M.pearson_r(t, p) for t, p in zip(a_t, a_p)]))
    assert report["arousal/R2"] == pytest.approx(skm.r2_score(np.concatenate(a_t), np.concatenate(a_p)))
    assert report["arousal/RMSE"] != pytest.approx(report["arousal/RMSE-per-song"])


def test_regression_report_custom_targets_and_missing_target():
    true, pred = _songs()
    assert list(M.regression_report(true, pred, targets=("arousal",)))[0] == "arousal/RMSE"
    del pred["valence"]
    with pytest.raises(MetricError, match="songs_pred has no target 'valence'"):
        M.regression_report(true, pred)
    with pytest.raises(MetricError, match="not the string"):
        M.regression_report(true, pred, targets="arousal")


def test_regression_report_error_names_target_and_song():
    true, pred = _songs()
    pred["arousal"][1] = pred["arousal"][1][:-1]
    with pytest.raises(MetricError, match=r"^arousal: song 1: y_true has 15 frames but y_pred has 14$"):
        M.regression_report(true, pred)


# --------------------------------------------------------------------------- invalid input


def test_metric_error_is_a_memo_error():
    assert issubclass(MetricError, MemoError)


@pytest.mark.parametrize("metric", FRAME_METRICS)
@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        (np.zeros(60), np.zeros(59), r"^y_true has 60 frames but y_pred has 59$"),
        ([], [], "empty"),
        (np.zeros((4, 1)), np.zeros(4), r"y_true must be 1-D .* got shape \(4, 1\)"),
        (np.zeros(4), 1.0, r"y_pred must be 1-D .* got shape \(\)"),
        ([0.0, np.nan, 1.0], [0.0, 1.0, 2.0], "y_true has 1 non-finite"),
        ([0.0, 1.0], [np.inf, -np.inf], "y_pred has 2 non-finite"),
        (["a", "b"], [1.0, 2.0], "y_true must be numeric"),
    ],
)
def test_frame_metrics_reject_bad_input(metric, y_true, y_pred, message):
    with pytest.raises(MetricError, match=message):
        metric(y_true, y_pred)


@pytest.mark.parametrize("aggregate", [M.per_song, M.pooled])
def test_aggregates_reject_bad_song_lists(aggregate):
    with pytest.raises(MetricError, match="songs_true has 2 songs but songs_pred has 1"):
        aggregate(M.rmse, [np.zeros(3), np.zeros(3)], [np.zeros(3)])
    with pytest.raises(MetricError, match=r"empty \(0 songs\)"):
        aggregate(M.rmse, [], [])
    # Equal totals (5 frames each side) must not hide a per-song mismatch.
    with pytest.raises(MetricError, match="^song 0: y_true has 3 frames but y_pred has 2$"):
        aggregate(M.rmse, [np.zeros(3), np.zeros(2)], [np.zeros(2), np.zeros(3)])
    with pytest.raises(MetricError, match="song 1: y_pred has 1 non-finite"):
        aggregate(M.rmse, [np.zeros(2), np.zeros(2)], [np.zeros(2), np.array([0.0, np.nan])])
    with pytest.raises(MetricError, match="not mappings"):
        aggregate(M.rmse, {"a": np.zeros(2)}, {"a": np.zeros(2)})


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        (np.zeros(5), r"ratings must be 2-D .* got shape \(5,\)"),
        (np.zeros((5, 1)), "1 rater column"),
        (np.zeros((1, 3)), "1 sample row"),
        ([[1.0, 2.0], [np.nan, 1.0], [2.0, 2.0]], "ratings has 1 non-finite"),
    ],
)
def test_cronbach_alpha_rejects_bad_input(ratings, message):
    with pytest.raises(MetricError, match=message):
        M.cronbach_alpha(ratings)


@pytest.mark.parametrize("fn", [M.roc_auc_macro, M.pr_auc_macro, M.tagging_report])
@pytest.mark.parametrize(
    ("y_true", "scores", "message"),
    [
        (Y_TAGS[:, 0], S_TAGS[:, 0], r"y_true must be 2-D .* got shape \(4,\); for a single tag use \.reshape\(-1, 1\)"),
        (Y_TAGS, S_TAGS[:3], r"y_true has shape \(4, 2\) but scores has shape \(3, 2\)"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "empty"),
        (Y_TAGS * 2, S_TAGS, r"y_true must be binary .* \[2\.0\]"),
        (Y_TAGS, np.where(S_TAGS > 0.85, np.nan, S_TAGS), "scores has 1 non-finite"),
    ],
)
def test_tagging_rejects_bad_input(fn, y_true, scores, message):
    with pytest.raises(MetricError, match=message):
        fn(y_true, scores)


def test_valid_input_emits_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M.pearson_r([1, 1, 1], [1, 2, 3])
        M.kendall_tau([1, 1, 1], [1, 2, 3])
        M.r2([1, 1], [1, 2])
        M.tagging_report(Y_TAGS, S_TAGS)
