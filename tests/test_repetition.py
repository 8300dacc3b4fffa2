"""Customer repetition in other words: features, the model file, and the shipped model in the detector."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from analysis.config import ScoringConfig
from analysis.errors import ConfigError, ModelUnavailableError
from analysis.repetition import BUILTIN, FEATURES, RepetitionModel, content_words, lexical_features, pair_features
from analysis.rubric import load_rubric
from analysis.scoring import ScoringStage, repetition_identity


def test_content_words_drop_stop_words_and_stem():
    assert content_words("I've been waiting for the engineers all morning") == {"wait", "engineer", "morn"}


def test_lexical_features_see_what_is_new():
    earlier = ["you've charged me twice for march"]
    same = dict(zip(FEATURES[4:], lexical_features("you charged me twice for march", earlier)))
    new = dict(zip(FEATURES[4:], lexical_features("and there's also forty pounds for a router i sent back", earlier)))
    assert same["shared_share"] == 1.0 and same["log_new"] == 0.0
    assert new["shared_share"] == 0.0 and new["log_new"] > 1.5
    assert new["additive"] == 1.0 and same["additive"] == 0.0
    assert new["new_number"] == 1.0 and same["new_number"] == 0.0
    assert lexical_features("why was i charged twice?", earlier)[FEATURES.index("question") - 4] == 1.0


def test_pair_features_are_in_feature_order():
    f = pair_features("nobody came", ["the engineer never turned up"], 0.6, 0.5, 0.2)
    assert f.shape == (len(FEATURES),)
    assert f[:4].tolist() == pytest.approx([0.6, 0.5, 0.2, 0.12])


def test_model_round_trip_and_probability(tmp_path):
    n = len(FEATURES)
    m = RepetitionModel(np.zeros(n), np.ones(n), np.r_[2.0, np.zeros(n - 1)], -1.0)
    path = tmp_path / "rep.json"
    m.to_json(path, trained_on=["x"])
    back = RepetitionModel.load(path)
    x = np.r_[1.5, np.zeros(n - 1)]
    assert back.probability(x) == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert json.loads(path.read_text())["trained_on"] == ["x"]


def test_bad_model_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        RepetitionModel.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"features": ["a"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0}))
    with pytest.raises(ConfigError, match="not a repetition model"):
        RepetitionModel.load(bad)
    bad.write_text("{")
    with pytest.raises(ConfigError, match="bad.json"):
        RepetitionModel.load(bad)


def test_shipped_model_loads_and_records_its_training():
    doc = json.loads(BUILTIN.read_text())
    assert doc["features"] == list(FEATURES)
    assert doc["turns"] >= 700 and doc["repetitions"] >= 400
    assert any(s.startswith("rep_train") for s in doc["trained_on"]) and "final8" in doc["trained_on"]
    RepetitionModel.load(BUILTIN)


@pytest.fixture(scope="module")
def shipped():
    from analysis.cue_model import get_classifier
    from analysis.cues import CueDetector
    from analysis.embeddings import get_encoder

    rubric = load_rubric()
    return CueDetector(rubric, get_encoder("cpu").encode, get_classifier(rubric.classifier_path()))


def _rep(det, text, earlier):
    return [m for m in det.detect_text(text, "customer", earlier) if m.kind == "customer_repetition"]


def test_a_restatement_in_other_words_is_found_by_the_model(shipped):
    earlier = ["hi, it's about my boiler", "the boiler's been leaking water onto the kitchen floor since friday"]
    turn = "there's still a puddle under it every morning, it hasn't stopped dripping for days"
    got = _rep(shipped, turn, earlier)
    assert got and got[0].method == "model"  # found by meaning: the classifier or the repetition model
    # the repetition model on its own finds it too (the classifier has since learnt this one)
    feats, _span, said = shipped.repetition_features(turn, earlier)
    assert shipped.repetition_model.probability(feats) >= shipped.rubric.detection.repetition.model_threshold
    assert said == earlier[1]
    # where the classifier misses a restatement, the model's match says what it matched
    quiet = _rep(shipped, "the water's still coming out from underneath it onto the tiles", earlier)
    assert quiet and quiet[0].method == "model" and quiet[0].matched.startswith("repetition model, p = ")
    assert f'said before: "{earlier[1]}"' in quiet[0].matched


def test_a_new_detail_on_the_same_subject_is_not_repetition(shipped):
    earlier = ["the boiler's been leaking water onto the kitchen floor since friday"]
    assert _rep(shipped, "the plumber you sent in march replaced the same valve, the bill was ninety pounds", earlier) == []


def test_rubric_can_turn_the_model_off(shipped, tmp_path):
    from analysis.cues import CueDetector

    rubric = load_rubric()
    off = rubric.model_copy(update={"detection": rubric.detection.model_copy(update={
        "repetition": rubric.detection.repetition.model_copy(update={"model": "none"})})})
    det = CueDetector(off, shipped.encode, shipped.classifier)
    assert det.repetition_model is None
    assert shipped.repetition_model is not None


def test_training_pairs_are_well_formed():
    from pathlib import Path

    path = Path(__file__).parent / "data" / "cues_repetition_pairs.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 400 and len({r["text"] for r in rows}) == len(rows)
    assert all(r["role"] == "customer" and r["previous_customer"] and r["split"] == "rep_train" for r in rows)
    positives = sum("customer_repetition" in r["cues"] for r in rows)
    assert 150 <= positives <= len(rows) - 150  # restatements and same-subject turns that add something


def test_features_of_what_a_new_fact_and_a_restated_complaint_look_like():
    idx = {name: i - 4 for i, name in enumerate(FEATURES)}
    said = "the engineer never turned up on tuesday"
    again = lexical_features("nobody came, i waited all day", [said], said=said)
    fact = lexical_features("he's fourteen, that's why he didn't know the games were charging", ["my son's bill is huge"])
    assert again[idx["both_negative"]] == 1.0 and again[idx["persistence"]] == 1.0
    assert fact[idx["pronoun_start"]] == 1.0 and fact[idx["explains"]] == 1.0 and fact[idx["both_negative"]] == 0.0
    assert again[idx["length_ratio"]] < 0 < fact[idx["length_ratio"]]
    assert lexical_features("a b c d", ["x"], span="a b")[idx["span_share"]] == 0.0  # no content words at all


def test_a_rubric_names_its_own_model_relative_to_itself(tmp_path, shipped):
    from analysis.cues import CueDetector
    from analysis.rubric import DEFAULT_RUBRIC

    text = DEFAULT_RUBRIC.read_text(encoding="utf-8").replace('model = "builtin"', 'model = "ours/rep.json"', 1)
    path = tmp_path / "our_rubric.toml"
    path.write_text(text, encoding="utf-8")
    ours = load_rubric(path)
    assert ours.repetition_model_path() == tmp_path / "ours" / "rep.json"
    with pytest.raises(ConfigError, match="rep.json: repetition model file not found"):
        CueDetector(ours, shipped.encode, shipped.classifier)
    with pytest.raises(ModelUnavailableError, match=r"rep.json: repetition model file named by the rubric .* not found"):
        ScoringStage(ScoringConfig(rubric=str(path)))  # before any audio
    (tmp_path / "ours").mkdir()
    RepetitionModel.load(BUILTIN).to_json(tmp_path / "ours" / "rep.json")
    assert CueDetector(ours, shipped.encode, shipped.classifier).repetition_model is not None
    ident = ScoringStage(ScoringConfig(rubric=str(path))).identity  # the report records which model scored it
    assert ident.repetition_model == "rep.json"
    assert ident.repetition_model_sha256 == hashlib.sha256((tmp_path / "ours" / "rep.json").read_bytes()).hexdigest()
    assert repetition_identity(load_rubric(DEFAULT_RUBRIC)) == ("builtin", hashlib.sha256(BUILTIN.read_bytes()).hexdigest())
    no_classifier = text.replace('classifier = "builtin"', 'classifier = "none"', 1)
    path.write_text(no_classifier, encoding="utf-8")
    assert repetition_identity(load_rubric(path)) == (None, None)  # the model reads the classifier's output: none without it
