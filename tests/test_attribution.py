"""Words to diarised speakers (analysis.diarization.attribution), and the turns they make."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.config import TurnsConfig
from analysis.diarization.attribution import attribute_words
from analysis.records import Word
from analysis.turns import build_turns


def w(start: float, end: float, text: str = "word") -> Word:
    return Word(start=start, end=end, text=text, probability=0.9)


def test_word_goes_to_the_turn_it_overlaps_most():
    segs = [(0.0, 2.0, "S0"), (1.8, 4.0, "S1")]
    got = attribute_words([w(0.5, 0.9, "a"), w(1.7, 2.3, "b"), w(3.0, 3.4, "c")], segs)
    assert [x.text for x in got["S0"]] == ["a"]
    assert [x.text for x in got["S1"]] == ["b", "c"]  # "b": 0.1 s in S0 alone, 0.3 s in S1


def test_word_in_no_turn_takes_the_nearest():
    segs = [(0.0, 1.0, "S0"), (5.0, 6.0, "S1")]
    got = attribute_words([w(1.5, 1.8, "near0"), w(4.0, 4.6, "near1"), w(7.0, 7.2, "after")], segs)
    assert [x.text for x in got["S0"]] == ["near0"]
    assert [x.text for x in got["S1"]] == ["near1", "after"]


def test_backchannel_inside_the_other_turn_stays_its_own_short_turn():
    # S0 talks 0-6 s; S1 says "mm-hmm" at 2.6-3.0 s, in a pause of S0 that the diarisation saw.
    segs = [(0.0, 2.5, "S0"), (2.55, 3.05, "S1"), (3.1, 6.0, "S0")]
    words = [w(0.2, 0.6), w(0.7, 1.2), w(1.3, 2.4), w(2.6, 3.0, "mm-hmm"), w(3.2, 3.8), w(3.9, 5.8)]
    got = attribute_words(words, segs)
    assert [x.text for x in got["S1"]] == ["mm-hmm"]
    turns = build_turns(got, TurnsConfig())
    s1 = [t for t in turns if t.speaker == "S1"]
    assert len(s1) == 1 and s1[0].text == "mm-hmm" and s1[0].end - s1[0].start < 0.5
    assert sum(len(t.words) for t in turns if t.speaker == "S0") == 5


def test_tie_inside_overlap_goes_to_the_speaker_of_the_wider_context():
    # both speakers active 2.9-3.1 (a seam); the word lies wholly inside it: a tie
    segs = [(0.0, 3.1, "S0"), (2.9, 6.0, "S1")]
    got = attribute_words([w(3.0, 3.08, "x")], segs)
    # 0.5 s either side (2.5-3.58) holds 0.60 s of S0 and 0.68 s of S1
    assert [x.text for x in got["S1"]] == ["x"] and got["S0"] == []
    got = attribute_words([w(2.92, 3.0, "y")], segs)  # mirror image: 2.42-3.5 holds 0.68 s of S0, 0.60 s of S1
    assert [x.text for x in got["S0"]] == ["y"] and got["S1"] == []


def test_no_segments_gives_every_word_to_one_speaker():
    words = [w(0.1, 0.3), w(0.5, 0.9)]
    assert attribute_words(words, []) == {"S0": words}
    assert attribute_words([], []) == {}


def test_every_label_is_a_key_in_order_of_first_appearance():
    got = attribute_words([w(0.1, 0.2)], [(5.0, 6.0, "B"), (0.0, 1.0, "A")])
    assert list(got) == ["A", "B"]
    assert got["B"] == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 60), st.floats(0.05, 2.0)), min_size=0, max_size=40),
    st.lists(st.tuples(st.floats(0, 60), st.floats(0.05, 10.0), st.sampled_from(["S0", "S1", "S2"])), min_size=0, max_size=15),
)
def test_each_word_is_attributed_exactly_once_and_in_time_order(word_spans, seg_specs):
    words = [w(round(s, 3), round(s + d, 3), f"w{i}") for i, (s, d) in enumerate(word_spans)]
    segs = [(s, s + d, lab) for s, d, lab in seg_specs]
    got = attribute_words(words, segs)
    flat = [x for ws in got.values() for x in ws]
    assert sorted(x.text for x in flat) == sorted(x.text for x in words)
    for ws in got.values():
        assert [x.start for x in ws] == sorted(x.start for x in ws)
    if segs:
        assert set(got) == {lab for _, _, lab in segs}
