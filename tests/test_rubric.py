"""The scoring rubric: the shipped file, validation errors with key and line, identity, weights."""

from __future__ import annotations

import hashlib
import re

import pytest

from analysis.errors import ConfigError, RubricError
from analysis.rubric import CUE_KINDS, default_rubric_path, key_lines, line_of, load_rubric, parse_rubric

DEFAULT_TEXT = default_rubric_path().read_text(encoding="utf-8")


def _line_containing(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return n
    raise AssertionError(needle)


def test_default_rubric_loads_with_identity() -> None:
    r = load_rubric()
    assert r.name == "callreview-default"
    assert r.version.count(".") == 2
    assert r.sha256 == hashlib.sha256(default_rubric_path().read_bytes()).hexdigest()
    assert r.source == str(default_rubric_path())
    assert set(r.cues) == set(CUE_KINDS)


def test_default_rubric_has_patterns_or_examples_for_every_cue() -> None:
    r = load_rubric()
    for kind, rule in r.cues.items():
        assert rule.patterns, f"{kind} has no phrase pattern"
        assert rule.label, f"{kind} has no label"
        if kind != "customer_repetition":  # repetition compares with the customer's own earlier turns
            assert len(rule.examples) >= 4, f"{kind} has too few example phrases"


def test_default_rubric_is_commented() -> None:
    comments = [line for line in DEFAULT_TEXT.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 40


def test_load_default_when_none_and_copy_gives_same_scores_identity(tmp_path) -> None:
    copy = tmp_path / "ours.toml"
    copy.write_text(DEFAULT_TEXT.replace('name = "callreview-default"', 'name = "acme-qa"'), encoding="utf-8")
    r = load_rubric(copy)
    assert r.name == "acme-qa"
    assert r.sha256 != load_rubric().sha256
    assert r.scores == load_rubric().scores


def test_unknown_key_is_reported_with_key_and_line() -> None:
    bad = DEFAULT_TEXT.replace("good = 2.5", "god = 2.5", 1)
    line = _line_containing(bad, "god = 2.5")
    with pytest.raises(RubricError) as err:
        parse_rubric(bad, source="team.toml")
    msg = str(err.value)
    assert msg.startswith("team.toml: ")
    assert f"line {line}:" in msg
    assert "scores.calm_tone.pitch_steadiness.god" in msg
    assert "unknown key" in msg


def test_bad_value_is_reported_with_key_and_line() -> None:
    bad = DEFAULT_TEXT.replace("per_item = 40.0", 'per_item = "forty"', 1)
    line = _line_containing(bad, 'per_item = "forty"')
    with pytest.raises(RubricError, match=rf"line {line}: key 'scores.calm_tone.volume_control.per_item'"):
        parse_rubric(bad, source="team.toml")


def test_negative_weight_rejected() -> None:
    bad = DEFAULT_TEXT.replace("[scores.empathy.ownership]         # target count of ownership cues\nweight = 0.5",
                               "[scores.empathy.ownership]         # target count of ownership cues\nweight = -1")
    assert bad != DEFAULT_TEXT
    line = _line_containing(bad, "weight = -1")
    with pytest.raises(RubricError, match=rf"line {line}: key 'scores.empathy.ownership.weight'.*greater than or equal to 0"):
        parse_rubric(bad)


def test_invalid_pattern_is_reported_with_key_and_line() -> None:
    bad = DEFAULT_TEXT.replace("    'calm down',", "    'calm (down',", 1)
    with pytest.raises(RubricError) as err:
        parse_rubric(bad, source="team.toml")
    msg = str(err.value)
    assert "key 'cues.blame.patterns'" in msg and "not a valid regular expression" in msg
    assert f"line {_line_containing(bad, '[cues.blame]') + 3}:" in msg  # the `patterns = [` line


def test_pattern_with_apostrophe_rejected() -> None:
    bad = DEFAULT_TEXT.replace("    'calm down',", "    \"calm down, it's fine\",", 1)
    with pytest.raises(RubricError, match="apostrophe"):
        parse_rubric(bad)


def test_unknown_and_missing_cues() -> None:
    bad = DEFAULT_TEXT.replace("[cues.blame]", "[cues.blam]", 1)
    with pytest.raises(RubricError, match=rf"line {_line_containing(bad, '[cues.blam]')}: key 'cues.blam': unknown cue"):
        parse_rubric(bad)


def test_missing_required_key() -> None:
    bad = re.sub(r'(?m)^version = "[^"]+"\n', "", DEFAULT_TEXT, count=1)
    assert bad != DEFAULT_TEXT
    with pytest.raises(RubricError, match="key 'rubric.version': required key is missing"):
        parse_rubric(bad)


def test_band_order_checked() -> None:
    bad = DEFAULT_TEXT.replace("low = 0.30\nhigh = 0.65", "low = 0.65\nhigh = 0.30", 1)
    assert bad != DEFAULT_TEXT
    with pytest.raises(RubricError, match="scores.active_listening.talk_share.*'low' must not be above 'high'"):
        parse_rubric(bad)


def test_not_toml_reports_line() -> None:
    bad = DEFAULT_TEXT.replace("margin = 0.03 ", "margin = 0.03 x ", 1)
    with pytest.raises(RubricError, match=r"not valid TOML: .*line \d+"):
        parse_rubric(bad)


def test_missing_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="rubric file not found"):
        load_rubric(tmp_path / "nope.toml")
    assert issubclass(RubricError, ConfigError)


def test_key_lines_maps_tables_keys_and_skips_multiline_arrays() -> None:
    text = '# c\n[a]\nx = 1\nlist = [\n  "y = 2",\n]\n[a.b]   # t\nz = "q"\n[c]\n"quoted.key" = 3\n'
    lines = key_lines(text)
    assert lines[("a",)] == 2
    assert lines[("a", "x")] == 3
    assert lines[("a", "list")] == 4
    assert ("a", "y") not in lines
    assert lines[("a", "b")] == 7
    assert lines[("a", "b", "z")] == 8
    assert lines[("c", "quoted.key")] == 10
    assert line_of(lines, ("a", "b", "missing")) == 7


def test_with_weights_replaces_and_rejects_unknown() -> None:
    r = load_rubric()
    r2 = r.with_weights({"empathy.ownership": 3.0})
    assert r2.scores.empathy.ownership.weight == 3.0
    assert r.scores.empathy.ownership.weight == 0.5
    with pytest.raises(RubricError, match="no score component 'empathy.nothing'"):
        r.with_weights({"empathy.nothing": 1.0})


def test_config_and_cli_point_at_a_rubric(tmp_path) -> None:
    from analysis.cli import build_parser, config_from_args

    args = build_parser().parse_args(["analyze", "x.wav", "--rubric", str(tmp_path / "r.toml")])
    cfg = config_from_args(args)
    assert cfg.scoring.rubric == str(tmp_path / "r.toml")
    args = build_parser().parse_args(["analyze", "x.wav"])
    assert config_from_args(args).scoring.rubric is None


def test_cli_rejects_invalid_rubric_before_analysing(tmp_path, capsys) -> None:
    from analysis.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT_TEXT.replace("target = 2", "target = 0", 1), encoding="utf-8")
    rc = main(["analyze", str(tmp_path / "missing.wav"), "--rubric", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{bad}: line {_line_containing(DEFAULT_TEXT, 'target = 2')}: key 'scores.active_listening.understanding.target'" in err
