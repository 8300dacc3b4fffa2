"""Channel activity and turn boundaries snapped to it."""

from __future__ import annotations

import numpy as np

from analysis.activity import channel_activity, snap_turns, words_in_activity
from analysis.channels import frame_db
from analysis.records import Turn, Word

SR = 16000


def tone(start: float, end: float, total: float, amp: float) -> np.ndarray:
    x = np.zeros(int(total * SR), dtype=np.float32)
    t = np.arange(int(start * SR), int(end * SR))
    x[t] = amp * np.sin(2 * np.pi * 180 * t / SR)
    return x + 1e-4 * np.random.default_rng(0).standard_normal(len(x)).astype(np.float32)


def test_activity_finds_own_voice_not_bleed() -> None:
    own = tone(1.0, 2.0, 5.0, 0.3) + tone(3.0, 4.0, 5.0, 0.3 * 10 ** (-35 / 20))  # second burst is bleed
    other = tone(3.0, 4.0, 5.0, 0.3)
    spans = channel_activity(frame_db(own, SR), frame_db(other, SR))
    assert len(spans) == 1
    s, e = spans[0]
    assert abs(s - 1.0) <= 0.03 and abs(e - 2.0) <= 0.03


def test_snap_moves_edges_to_activity_and_takes_in_missed_words() -> None:
    words = [Word(start=1.45, end=1.7, text="fees", probability=0.9), Word(start=1.75, end=2.3, text="added.", probability=0.9)]
    turn = Turn(speaker="a", start=1.45, end=2.3, text="fees added.", words=words)
    activity = {"a": [(1.0, 1.3), (1.5, 2.1)]}  # "late" at 1.0-1.3 was not recognised
    (snapped,) = snap_turns([turn], activity)
    assert snapped.start == 1.0
    assert snapped.end == 2.1


def test_snap_never_crosses_the_speakers_previous_turn() -> None:
    t1 = Turn(speaker="a", start=0.0, end=1.0, text="one", words=[Word(start=0.0, end=1.0, text="one", probability=1.0)])
    t2 = Turn(speaker="a", start=2.0, end=3.0, text="two", words=[Word(start=2.0, end=3.0, text="two", probability=1.0)])
    out = snap_turns([t1, t2], {"a": [(0.0, 1.2), (1.3, 3.0)]})
    assert out[1].start >= out[0].end


def test_words_outside_activity_dropped() -> None:
    words = [Word(start=1.0, end=1.4, text="real", probability=0.9), Word(start=3.0, end=3.3, text="ghost", probability=0.4)]
    assert [w.text for w in words_in_activity(words, [(0.9, 1.5)])] == ["real"]
