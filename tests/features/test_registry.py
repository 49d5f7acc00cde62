"""The feature registry, the extractor contract and frame timing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from memo_core.errors import FeatureError, MemoError
from memo_core.features import (
    FeatureExtractor,
    frame_times,
    get_extractor,
    list_features,
    register_feature,
)

EXPECTED = {
    "deam260": (260, 0.5),
    "compare6373": (6373, 0.5),
    "chroma": (24, 0.5),
    "cqt": (252, 0.5),
    "chroma_cqt": (276, 0.5),
    "spectral": (197, 0.5),
    "logmel128": (128, 0.01),
    "logmel128_steps": (6400, 0.5),
    "mel96": (96, 256 / 12000),
}


def test_every_required_extractor_is_registered():
    assert set(EXPECTED) <= set(list_features())
    assert list_features() == sorted(list_features())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_extractor_metadata(name):
    extractor = get_extractor(name)
    n_features, frame_seconds = EXPECTED[name]
    assert extractor.name == name
    assert extractor.n_features == n_features
    assert extractor.frame_seconds == pytest.approx(frame_seconds)
    names = extractor.feature_names
    assert len(names) == n_features and len(set(names)) == n_features
    spec = extractor.spec()
    assert json.loads(json.dumps(spec)) == spec  # goes into checkpoints as JSON
    assert spec["name"] == name and spec["n_features"] == n_features
    assert {"opensmile", "librosa", "numpy"} <= set(spec["libraries"])
    assert spec["code_version"]


def test_feature_names_are_meaningful():
    assert "pcm_RMSenergy_sma_mean" in get_extractor("deam260").feature_names
    assert "pcm_RMSenergy_sma_de_std" in get_extractor("deam260").feature_names
    assert get_extractor("chroma").feature_names[:2] == ["chroma_stft_C", "chroma_stft_C#"]
    assert get_extractor("chroma").feature_names[12] == "chroma_cqt_C"
    spectral = get_extractor("spectral").feature_names
    assert spectral[-1] == "zcr" and "mfcc_1" in spectral and "mel_127" in spectral and "mel_128" not in spectral
    assert get_extractor("chroma_cqt").feature_names[:252] == get_extractor("cqt").feature_names


def test_unknown_extractor_lists_known_names():
    with pytest.raises(FeatureError, match="Known feature sets:.*deam260"):
        get_extractor("deam999")
    assert issubclass(FeatureError, MemoError)


def test_unknown_or_invalid_parameter():
    with pytest.raises(FeatureError, match="no parameter hop"):
        get_extractor("chroma", hop=3)
    with pytest.raises(FeatureError, match="sample_rate"):
        get_extractor("deam260", sample_rate=12)
    with pytest.raises(FeatureError, match="multiple of 100"):
        get_extractor("logmel128", sample_rate=22_050)


def test_params_differ_between_instances():
    assert get_extractor("chroma").params == {"n_fft": 2048}
    assert get_extractor("chroma", n_fft=1024).spec() != get_extractor("chroma").spec()


def test_duplicate_registration_raises():
    with pytest.raises(FeatureError, match="already registered"):

        @register_feature("deam260")
        class Again(FeatureExtractor):
            pass

    assert get_extractor("deam260").n_features == 260  # the original is untouched


def test_compute_rejects_non_audio():
    with pytest.raises(FeatureError, match="Audio record"):
        get_extractor("mel96").compute(np.zeros(100, dtype=np.float32))


def test_frame_times_are_start_times():
    t = frame_times(61, 0.5)
    assert t.shape == (61,)
    assert t[30] == 15.0  # the annotation at 15.0 s pairs with frame 30
    assert t[0] == 0.0 and t[-1] == 30.0
    assert np.allclose(frame_times(3, 0.01), [0.0, 0.01, 0.02])
    with pytest.raises(FeatureError):
        frame_times(3, 0.0)


def test_annotation_frame_index_pairs_with_the_frame_ending_at_the_instant():
    from memo_core.features import annotation_frame_index

    idx = annotation_frame_index(np.array([0.0, 0.5, 0.7, 15.0, 15.5, 45.0, 60.0]), 91)
    assert idx.tolist() == [0, 0, 1, 29, 30, 89, 90]
    assert annotation_frame_index(np.array([45.0]), 90).tolist() == [89]   # same frame whether or not a tail exists
    assert annotation_frame_index(np.array([15.0 + 1e-9]), 91).tolist() == [29]   # float noise does not move it
