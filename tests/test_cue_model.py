"""The cue classifier (analysis.cue_model): file format, training data, the shipped model, training, the CLI."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from analysis.cue_model import BUILTIN, ClassifierWeights, Example, build_training_set, read_labelled
from analysis.errors import CallReviewError, ModelUnavailableError
from analysis.rubric import CUE_KINDS, load_rubric, parse_rubric, default_rubric_path


@pytest.fixture(scope="module")
def rubric():
    return load_rubric()


@pytest.fixture(scope="module")
def shipped():
    from analysis.cue_model import get_classifier

    return get_classifier()


def _tiny_weights() -> ClassifierWeights:
    rng = np.random.default_rng(0)
    return ClassifierWeights(
        kinds=("acknowledgement", "manager_request"),
        roles=("agent", "customer"),
        rank=2,
        alpha=4.0,
        adapters={"encoder.layer.0.attention.self.query": (rng.normal(size=(2, 384)).astype(np.float32), rng.normal(size=(384, 2)).astype(np.float32))},
        head_w=rng.normal(size=(2, 384)).astype(np.float32),
        head_b=np.array([0.5, -0.5], dtype=np.float32),
        meta={"note": "test"},
    )


def test_weights_round_trip_through_the_file(tmp_path) -> None:
    w = _tiny_weights()
    path = tmp_path / "m.npz"
    w.save(path)
    back = ClassifierWeights.load(path)
    assert back.kinds == w.kinds and back.roles == w.roles and back.rank == 2 and back.alpha == 4.0
    assert back.meta == {"note": "test"}
    (name,) = back.adapters
    assert np.array_equal(back.adapters[name][0], w.adapters[name][0]) and np.array_equal(back.head_b, w.head_b)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # a model, not call data


def test_a_file_that_is_not_a_classifier_is_refused_with_its_name(tmp_path) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ModelUnavailableError, match="other.npz: not a callreview cue classifier file"):
        ClassifierWeights.load(other)
    with pytest.raises(ModelUnavailableError, match="missing.npz: cue classifier file not found"):
        ClassifierWeights.load(tmp_path / "missing.npz")


def test_labelled_file_errors_name_the_line(tmp_path) -> None:
    p = tmp_path / "mine.jsonl"
    p.write_text('{"text": "hello", "role": "agent", "cues": []}\n{"text": "hi", "role": "caller", "cues": []}\n')
    with pytest.raises(CallReviewError, match=r"mine.jsonl: line 2: not a labelled utterance"):
        read_labelled(p)


def test_training_set_from_files_and_rubric(tmp_path, rubric) -> None:
    p = tmp_path / "mine.jsonl"
    rows = [
        {"text": "is there anyone above you I can talk to", "role": "customer", "cues": ["manager_request"], "split": "a"},
        {"text": "what time do you close", "role": "customer", "cues": [], "split": "b"},
    ]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples, meta = build_training_set([p], rubric, holdout=["b"])
    assert examples[0] == Example("is there anyone above you I can talk to", "customer", frozenset({"manager_request"}))
    n_phrases = sum(len(r.examples) for r in rubric.cues.values()) + len(rubric.counter_examples.agent) + len(rubric.counter_examples.customer)
    assert len(examples) == 1 + n_phrases and meta["rubric"]["phrases"] == n_phrases
    assert meta["data"][0]["utterances"] == 1 and meta["holdout"] == ["b"]
    p.write_text(json.dumps({"text": "x", "role": "agent", "cues": ["telepathy"]}) + "\n")
    with pytest.raises(CallReviewError, match="unknown cue"):
        build_training_set([p], rubric)


def test_shipped_classifier_covers_every_cue_and_records_its_training(shipped) -> None:
    assert BUILTIN.exists() and BUILTIN.stat().st_size < 3_000_000
    assert set(shipped.kinds) == set(CUE_KINDS)
    sets = {d["file"] for d in shipped.meta["data"]}
    assert "cues_heldout_final13.jsonl" not in sets  # the blind set is never trained on
    assert {"cues_labelled.jsonl", "cues_train_a.jsonl", "cues_train_b.jsonl", "cues_heldout_final12.jsonl"} <= sets


# sentences written for this test (in none of the data sets)
CLEAR = {
    "acknowledgement": "Honestly, you've every reason to be annoyed about this.",
    "empathy": "Oh no, that must have been a horrible week for you and the kids.",
    "apology_sincere": "I'm really sorry, we got that wrong and it shouldn't have happened.",
    "non_apology": "Sorry if you feel you were treated unfairly.",
    "open_question": "Could you talk me through what happened when the driver arrived?",
    "ownership": "Leave this one with me, I'll personally get it sorted today.",
    "policy_hiding": "That's just the policy, there's nothing I can do about it.",
    "blame": "Well, you should have read the terms before you signed.",
    "hold_permission": "Would you mind if I popped you on hold for a couple of minutes?",
    "hold_thanks": "Thanks so much for waiting there.",
    "escalation_offer": "I can pass this up to my team leader if you'd like.",
    "closing_loop": "Is there anything else I can help you with today?",
    "customer_frustration": "This is absolutely ridiculous, I'm sick of ringing you people.",
    "manager_request": "Can you put me through to your supervisor please?",
    "customer_thanks": "Oh brilliant, thank you so much, that's a weight off.",
}
NEUTRAL = [
    ("agent", "Your next bill will be issued on the fourth of the month."),
    ("agent", "Can I take the first line of your address?"),
    ("customer", "It's a two bedroom flat on the second floor."),
    ("customer", "I'm calling about my broadband contract."),
]


def test_shipped_classifier_is_sure_of_clear_cases_and_of_ordinary_talk(shipped, rubric) -> None:
    probs = shipped.predict(list(CLEAR.values()))
    for row, (kind, text) in zip(probs, CLEAR.items()):
        j = shipped.index(kind)
        assert row[j] >= rubric.classifier_threshold(kind), f"{kind}: p = {row[j]:.2f} for {text!r}"
    for role, text in NEUTRAL:
        row = shipped.predict([text])[0]
        mine = [k for k in CUE_KINDS if rubric.cues[k].speaker == role]
        top = max(mine, key=lambda k: row[shipped.index(k)])
        assert row[shipped.index(top)] < 0.5, f"{text!r}: {top} p = {row[shipped.index(top)]:.2f}"


def test_predictions_are_repeatable(shipped) -> None:
    a = shipped.predict(["We can't do that, I'm afraid."])
    shipped._cache.clear()
    b = shipped.predict(["We can't do that, I'm afraid."])
    assert np.array_equal(a, b)


def test_rubric_names_the_classifier(tmp_path) -> None:
    text = default_rubric_path().read_text()
    assert parse_rubric(text).classifier_path() == BUILTIN
    off = text.replace('classifier = "builtin"', 'classifier = "none"')
    assert parse_rubric(off).classifier_path() is None
    mine = tmp_path / "rubric.toml"
    mine.write_text(text.replace('classifier = "builtin"', 'classifier = "ours.npz"'))
    assert load_rubric(mine).classifier_path() == tmp_path / "ours.npz"  # relative to the rubric file
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("classifier_threshold = 0.7 ", "classifier_threshold = 1.5 "))
    with pytest.raises(CallReviewError, match="detection.classifier_threshold"):
        load_rubric(bad)


def test_a_missing_classifier_fails_before_any_audio(tmp_path) -> None:
    from analysis.config import ScoringConfig
    from analysis.scoring import ScoringStage

    mine = tmp_path / "rubric.toml"
    mine.write_text(default_rubric_path().read_text().replace('classifier = "builtin"', 'classifier = "ours.npz"'))
    with pytest.raises(ModelUnavailableError, match=r"ours.npz: cue classifier file named by the rubric .* not found; train one"):
        ScoringStage(ScoringConfig(rubric=str(mine)))
    assert ScoringStage(ScoringConfig(rubric=str(mine), semantic=False)).identity.classifier is None


@pytest.mark.slow
def test_training_is_seeded_and_lowers_the_loss(rubric) -> None:
    from analysis.cue_model import train_classifier

    examples = [Example(t, rubric.cues[k].speaker, frozenset({k})) for k, t in CLEAR.items()]
    examples += [Example(t, role, frozenset()) for role, t in NEUTRAL]
    kinds = list(rubric.cues)
    roles = [rubric.cues[k].speaker for k in kinds]
    lines: list[str] = []
    a = train_classifier(examples, kinds, roles, epochs=3, batch=8, progress=lines.append)
    b = train_classifier(examples, kinds, roles, epochs=3, batch=8)
    losses = [float(line.split("loss ")[1].split()[0]) for line in lines]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert np.allclose(a.head_w, b.head_w, atol=1e-6)
    assert a.meta["examples"] == len(examples) and a.kinds == tuple(kinds)


@pytest.mark.slow
def test_cli_trains_a_classifier_a_rubric_can_use(tmp_path) -> None:
    from analysis.cli import main
    from analysis.cue_model import ClassifierWeights

    data = tmp_path / "ours.jsonl"
    data.write_text("".join(json.dumps({"text": t, "role": load_rubric().cues[k].speaker, "cues": [k]}) + "\n" for k, t in CLEAR.items()))
    out = tmp_path / "ours.npz"
    assert main(["train-cues", str(data), "--out", str(out), "--epochs", "1"]) == 0
    w = ClassifierWeights.load(out)
    assert set(w.kinds) == set(CUE_KINDS) and w.meta["data"][0]["file"] == "ours.jsonl"
    assert main(["train-cues", str(data), "--out", str(tmp_path / "ours.bin")]) == 2  # must be .npz
