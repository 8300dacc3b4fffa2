"""Conversation dynamics: unit tests on constructed turns, and events against the planted truth of the sample calls."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.config import ConversationConfig
from analysis.conversation import (
    Span,
    analyse_conversation,
    find_silences,
    is_backchannel_text,
    is_question,
    response_latency,
    snap_turns,
    wordless_bursts,
)
from analysis.records import Turn, Word
from tests.conftest import SAMPLES, sample_truth

CFG = ConversationConfig()


def turn(speaker, start, end, text):
    words = text.split()
    step = (end - start) / len(words)
    ws = [Word(start=start + i * step, end=start + (i + 1) * step, text=w, probability=0.9) for i, w in enumerate(words)]
    return Turn(speaker=speaker, start=start, end=end, text=text, words=ws)


def spans_of(turns):
    return [Span(t.speaker, t.start, t.end, i, t.text, len(t.words)) for i, t in enumerate(turns)]


def run(turns, agent="A", customer="C", extra=()):
    spans = sorted(spans_of(turns) + list(extra), key=lambda s: (s.start, s.end))
    return analyse_conversation(spans, turns, agent, customer, CFG)


def kinds(res, kind):
    return [e for e in res.events if e.kind == kind]


# --- interruptions and backchannels ---------------------------------------------------------


def test_interruption_by_talking_over():
    ts = [turn("C", 0.0, 6.0, "I was charged twice for October and I have the receipt here"), turn("A", 3.0, 5.0, "hold on that is not right")]
    res = run(ts)
    (ev,) = kinds(res, "interruption")
    assert (ev.speaker, ev.target, ev.start, ev.end) == ("A", "C", 3.0, 5.0)
    assert ev.detail.startswith('"hold on that is not right" over "')
    assert "receipt" not in ev.detail.split(" over ")[1] or "twice" in ev.detail
    assert res.interruptions_made["A"] == 1 and res.interrupted["C"] == 1


def test_interruption_when_the_speaker_stops_soon_after():
    ts = [turn("C", 0.0, 3.3, "I paid on the third so the fee"), turn("A", 3.0, 6.0, "payments take three days to clear")]
    (ev,) = kinds(run(ts), "interruption")
    assert ev.start == 3.0 and ev.end == pytest.approx(3.3)
    assert "stops 0.3 s later" in ev.detail


def test_no_interruption_for_short_overlap_that_goes_on_or_a_joint_start():
    # overlap 0.3 s, and C goes on for 2.7 s more: neither rule holds
    ts = [turn("C", 0.0, 6.0, "so the statement arrived this morning and it is wrong"), turn("A", 3.0, 3.3, "sorry what")]
    cfg_no_bc = ConversationConfig(backchannel_max_duration=0.1)
    spans = spans_of(ts)
    res = analyse_conversation(spans, ts, "A", "C", cfg_no_bc)
    assert kinds(res, "interruption") == []
    # both start at once (B within 0.5 s of A's start): an overlap, not an interruption
    ts = [turn("C", 0.0, 4.0, "and could I also ask about billing"), turn("A", 0.2, 2.0, "sorry please go ahead")]
    res = run(ts)
    assert kinds(res, "interruption") == [] and len(kinds(res, "overlap")) == 1


def test_backchannel_is_a_listening_signal_not_an_interruption():
    ts = [turn("C", 0.0, 8.0, "well the statement came this morning and the total was far too high"), turn("A", 3.0, 3.5, "Mm-hmm.")]
    res = run(ts)
    assert kinds(res, "interruption") == []
    (bc,) = kinds(res, "backchannel")
    assert (bc.speaker, bc.target) == ("A", "C") and '"Mm-hmm."' in bc.detail
    assert res.backchannels == {"A": 1, "C": 0}
    assert len(kinds(res, "overlap")) == 1  # still both speaking


def test_not_a_backchannel_when_not_from_the_vocabulary_or_taking_the_floor():
    ts = [turn("C", 0.0, 8.0, "well the statement came this morning and the total was far too high"), turn("A", 3.0, 3.8, "wait what")]
    res = run(ts)
    assert kinds(res, "backchannel") == [] and len(kinds(res, "interruption")) == 1
    # "Okay," then the same speaker goes straight on: taking the floor
    ts = [
        turn("C", 0.0, 4.0, "nobody came to my house that day and I was at home"),
        turn("A", 3.2, 3.6, "Okay,"),
        turn("A", 3.9, 6.0, "so the charge is dated the fourteenth"),
    ]
    res = run(ts)
    assert kinds(res, "backchannel") == []
    (ev,) = kinds(res, "interruption")
    assert ev.start == 3.2 and ev.speaker == "A"


def test_wordless_voiced_burst_counts_as_backchannel():
    hop = 0.01
    act = np.zeros(800, dtype=bool)
    act[300:340] = True  # 0.4 s burst, no words
    act[500:800] = True  # inside A's own turn: not a burst
    voiced = act.copy()
    a_turn = [Span("A", 5.0, 8.0, 1, "x y z", 3)]
    bursts = wordless_bursts(act, voiced, a_turn, "A", hop, CFG.backchannel_max_duration)
    assert [(b.start, b.end, b.turn) for b in bursts] == [(3.0, 3.4, None)]
    unvoiced = wordless_bursts(act, np.zeros_like(act), a_turn, "A", hop, CFG.backchannel_max_duration)
    assert unvoiced == []
    ts = [turn("C", 0.0, 6.0, "the total was far too high and I do not know why")]
    res = run(ts, extra=bursts)
    (bc,) = kinds(res, "backchannel")
    assert bc.speaker == "A" and "wordless" in bc.detail


def test_backchannel_vocabulary():
    assert is_backchannel_text("Mm-hmm.", CFG.backchannel_phrases)
    assert is_backchannel_text("I see,", CFG.backchannel_phrases)
    assert is_backchannel_text("Okay, right.", CFG.backchannel_phrases)
    assert not is_backchannel_text("Wait, what?", CFG.backchannel_phrases)
    assert not is_backchannel_text("", CFG.backchannel_phrases)


# --- silences, dead air, holds ----------------------------------------------------------


def test_silence_dead_air_and_hold_are_exclusive():
    ts = [
        turn("A", 0.0, 2.0, "let me look at that"),
        turn("C", 4.5, 6.0, "okay thanks"),  # 2.5 s silence
        turn("A", 12.0, 14.0, "right so here it is"),  # 6 s: dead air
        turn("A", 14.5, 16.0, "may I put you on hold for a moment"),
        turn("A", 24.0, 26.0, "still checking for you"),  # 8 s: hold
        turn("C", 30.0, 31.0, "hello"),  # 4 s: the request was used by the hold before: silence
    ]
    ev = find_silences(spans_of(ts), ts, "A", CFG)
    assert [(e.kind, e.start, e.end) for e in ev] == [
        ("silence", 2.0, 4.5),
        ("dead_air", 6.0, 12.0),
        ("hold", 16.0, 24.0),
        ("silence", 26.0, 30.0),
    ]
    assert ev[2].speaker == "A" and ev[2].value == 8.0 and ev[1].speaker is None


def test_hold_recognised_from_the_agent_thanking_for_holding():
    ts = [turn("C", 0.0, 2.0, "sure go ahead"), turn("A", 9.0, 12.0, "Thank you for holding, I have good news")]
    (ev,) = find_silences(spans_of(ts), ts, "A", CFG)
    assert ev.kind == "hold" and ev.speaker == "A"
    ts = [turn("C", 0.0, 2.0, "can you remove it"), turn("C", 9.0, 10.0, "hello are you still there")]
    (ev,) = find_silences(spans_of(ts), ts, "A", CFG)
    assert ev.kind == "dead_air"


def test_let_me_check_is_not_a_hold():
    ts = [turn("A", 0.0, 2.0, "Okay. Then let me check the meter from here."), turn("C", 8.0, 9.0, "hello")]
    (ev,) = find_silences(spans_of(ts), ts, "A", CFG)
    assert ev.kind == "dead_air"


# --- latency, questions, monologues, snapping ----------------------------------------------


def test_response_latency_median_p90_and_negative_on_overlap():
    ts = [
        turn("C", 0.0, 2.0, "first question here"),
        turn("A", 2.5, 4.0, "answer one"),
        turn("C", 5.0, 7.0, "second point"),
        turn("A", 6.8, 9.0, "answer two"),  # starts 0.2 s early
        turn("C", 10.0, 11.0, "third"),
        turn("A", 12.0, 13.0, "answer three"),
        turn("C", 14.0, 15.0, "and finally"),
        turn("A", 25.0, 26.0, "thank you for waiting"),  # across a hold: left out
    ]
    lat = response_latency(spans_of(ts), "A", "C", set(), holds=[(15.0, 25.0)])
    assert lat.n == 3
    assert lat.median == pytest.approx(0.5)
    assert lat.p90 == pytest.approx(0.9)
    assert response_latency(spans_of(ts), "A", "C", set()).n == 4
    assert response_latency(spans_of(ts), None, None, set()).n == 0


def test_questions_and_longest_monologue():
    ts = [
        turn("A", 0.0, 3.0, "How can I help you today?"),
        turn("C", 3.5, 12.0, "my bill is wrong. could you check it for me"),
        turn("A", 12.5, 14.0, "Of course. Let me look."),
    ]
    res = run(ts)
    assert res.questions == {"A": 1, "C": 1}
    assert res.longest_monologue == {"A": 3.0, "C": 8.5}
    assert is_question("Do you have your account number", CFG.question_openers)
    assert not is_question("What I mean is the bill is wrong.", CFG.question_openers)


def test_snap_turns_moves_edges_to_own_activity():
    hop = 0.01
    act = np.zeros(1000, dtype=bool)
    act[150:420] = True  # speech 1.5-4.2 s, recogniser said 1.0-4.5
    act[100:130] = True  # a first word the recogniser missed, 0.2 s before
    act[700:720] = True  # unrelated sound far after
    ts = [turn("A", 1.0, 4.5, "one two three")]
    (sp,) = snap_turns(ts, {"A": act}, hop, pad=0.5)
    assert (sp.start, sp.end) == (1.0, 4.2)  # 1.0 = the missed word's start, within the pad
    ts = [turn("A", 1.6, 3.0, "one two")]
    (sp,) = snap_turns(ts, {"A": act}, hop, pad=0.5)
    # the missed word starts before the pad: not taken in; the end is clipped to the pad
    assert sp.start == pytest.approx(1.5) and sp.end == pytest.approx(3.5)
    (sp,) = snap_turns(ts, {}, hop)
    assert (sp.start, sp.end) == (1.6, 3.0)  # no activity: recognised times kept


# --- end to end: planted events of the sample calls ---------------------------------------

KINDS = ("overlap", "interruption", "backchannel", "silence", "dead_air", "hold", "raised_voice", "fast_speech")


def match(detected, planted, roles, tol=0.25):
    """Per kind: matched, detected, planted (same kind, onset within tol, same roles where the truth has them)."""
    out = {}
    for kind in KINDS:
        det = [e for e in detected if e.kind == kind]
        tru = [e for e in planted if e["kind"] == kind]
        used = set()
        m = 0
        for t in tru:
            cands = [
                (abs(d.start - t["start"]), i)
                for i, d in enumerate(det)
                if i not in used
                and abs(d.start - t["start"]) <= tol
                and (not t.get("speaker") or roles.get(d.speaker) == t["speaker"])
                and (not t.get("target") or roles.get(d.target) == t["target"])
            ]
            if cands:
                used.add(min(cands)[1])
                m += 1
        out[kind] = (m, len(det), len(tru))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["calm_agent", "rude_agent", "tel_billing_8k", "mono_call", "tel_support_8k"])
def test_events_match_the_planted_truth(analyzed, name):
    truth = sample_truth(name)
    rep = analyzed(SAMPLES / truth["audio"])
    if truth["layout"] == "mono" and len(rep.speakers) < 2:
        pytest.skip(f"{name}: mono call not diarised (one speaker); conversation events need two")
    roles = {s.label: s.role for s in rep.speakers}
    res = match(rep.events, truth["events"], roles)
    # Mono calls: overlapping talk comes from the overlap detector (pyannote/segmentation); it misses one
    # planted overlap, mono_call's "Right." at 43.3 s (its overlap score there is 0.2, against about 0.9
    # for the others), and so that backchannel. Everything detected must be planted.
    known_misses = {("mono_call", "overlap"): 1, ("mono_call", "backchannel"): 1}
    for kind, (m, d, t) in res.items():
        assert m >= t - known_misses.get((name, kind), 0), f"{name}: {kind}: {m} of {t} planted events found (onset within 0.25 s)"
        assert m == d, f"{name}: {kind}: {d - m} detected events not planted"
    cm = rep.metrics.call
    assert cm.interruptions == res["interruption"][1] and cm.backchannels == res["backchannel"][1]
    assert cm.holds == res["hold"][1] and cm.dead_air == res["dead_air"][1] and cm.silences == res["silence"][1]
    by = {sm.speaker: sm for sm in rep.metrics.speakers}
    for e in rep.events:
        if e.kind == "interruption":
            assert e.detail.count('"') >= 4 and " over " in e.detail  # the words of both
    made = sum(sm.interruptions_made for sm in by.values())
    assert made == cm.interruptions == sum(sm.interrupted for sm in by.values())
    assert cm.latency is not None and cm.latency.n >= 3 and -1.0 < cm.latency.median < 2.0
    assert all(sm.longest_monologue > 0 for sm in by.values())
    agent = next(s.label for s in rep.speakers if s.role == "agent")
    assert by[agent].questions >= 1  # every sample agent asks (e.g. "Is there anything else ...?")


# --- mono calls: overlapped speech from the overlap detector (place_overlaps) ------------------


def test_place_overlaps_backchannel_inside_a_turn_becomes_a_wordless_burst():
    from analysis.conversation import place_overlaps

    ts = [turn("C", 0.0, 8.0, "so the engineer came on Monday and said the meter was fine but it still reads zero"),
          turn("A", 9.0, 12.0, "okay let me look at that")]
    spans, bursts = place_overlaps(spans_of(ts), [(3.0, 3.5)])
    assert spans == spans_of(ts)  # nothing widened: the customer's turn already covers it
    assert [(b.speaker, b.start, b.end, b.turn) for b in bursts] == [("A", 3.0, 3.5, None)]
    res = run(ts, extra=bursts)
    (bc,) = kinds(res, "backchannel")
    assert (bc.speaker, bc.target, bc.start) == ("A", "C", 3.0)
    (ov,) = kinds(res, "overlap")
    assert (ov.start, ov.end) == (3.0, 3.5)
    assert not kinds(res, "interruption")


def test_place_overlaps_widens_the_turn_that_starts_under_the_other():
    from analysis.conversation import place_overlaps

    # diarisation put the change at 5.0; the detector heard the agent from 4.4 on
    ts = [turn("C", 0.0, 5.0, "I have called three times about this and nobody has done anything"),
          turn("A", 5.0, 8.0, "I already told you the engineer is booked")]
    spans, bursts = place_overlaps(spans_of(ts), [(4.4, 5.2)])
    assert not bursts
    assert (spans[0].start, spans[0].end) == (0.0, 5.2)  # the customer speaks on under the agent
    assert (spans[1].start, spans[1].end) == (4.4, 8.0)  # the agent starts under the customer
    act = {"C": np.ones(800, dtype=bool), "A": np.zeros(800, dtype=bool)}
    res = analyse_conversation(sorted(spans, key=lambda s: s.start), ts, "A", "C", CFG, act, 0.01)
    (ev,) = kinds(res, "interruption")
    assert (ev.speaker, ev.target, ev.start) == ("A", "C", 4.4)


def test_place_overlaps_ignores_regions_where_nobody_spoke():
    from analysis.conversation import place_overlaps

    ts = [turn("C", 0.0, 2.0, "hello there"), turn("A", 6.0, 8.0, "hello how can I help")]
    spans, bursts = place_overlaps(spans_of(ts), [(3.0, 3.4)])
    assert spans == spans_of(ts) and bursts == []


def test_starting_in_the_other_speakers_pause_is_not_an_interruption():
    # the customer's turn (by its words) runs 0-6 s, but their voice stopped at 4.0: the agent
    # starting at 4.6 takes the turn in a pause, it does not interrupt
    ts = [turn("C", 0.0, 6.0, "the bill says four hundred pounds and it should be forty"), turn("A", 4.6, 9.0, "right I can see the reading was wrong")]
    act = {"C": np.zeros(1000, dtype=bool), "A": np.zeros(1000, dtype=bool)}
    act["C"][:400] = True
    spans = sorted(spans_of(ts), key=lambda s: s.start)
    assert not kinds(analyse_conversation(spans, ts, "A", "C", CFG, act, 0.01), "interruption")
    act["C"][:450] = True  # ... but talking until 4.5 s: the agent cuts in
    assert kinds(analyse_conversation(spans, ts, "A", "C", CFG, act, 0.01), "interruption")
    assert kinds(analyse_conversation(spans, ts, "A", "C", CFG), "interruption")  # no activity given: not checked
