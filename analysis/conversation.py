"""Conversation dynamics from turns and per-speaker activity: pure functions.

Turn times come from the recogniser's word timestamps, which can be a few
tenths of a second off. Each turn is first snapped to its speaker's own voice
activity (:func:`snap_turns`), and all events below are measured on those
spans.

Definitions
-----------
overlap
    A span of at least ``overlap_min`` seconds in which two or more speakers
    speak (merged over speakers); speaker = null.
backchannel
    A short utterance of B (at most ``backchannel_max_words`` words and
    ``backchannel_max_duration`` seconds, every word from the
    ``backchannel_phrases`` vocabulary) that starts after A started and ends
    before A stops, A's turns bridged across gaps of up to
    ``interruption_yield`` seconds (A keeps talking), and after which B does not
    go on speaking within ``interruption_yield`` seconds (B is not taking the
    floor). On a dual-channel call a
    voiced burst of B's own channel with no recognised words, as short, counts
    too (``backchannel_from_voice``). speaker = B (listener), target = A.
interruption
    B starts while A is in a turn - at least ``interruption_min_into_turn``
    seconds after A started and at least ``overlap_min`` seconds before A ends -,
    B's utterance is not a backchannel, and either they overlap for at least
    ``interruption_min_overlap`` seconds or A stops within
    ``interruption_yield`` seconds of B's start. speaker = B, target = A, start =
    B's start, end = the end of the overlap.
silence, dead air, hold
    A gap of at least ``silence_min`` seconds between the first and the last
    speech of the call in which nobody speaks. It is a *hold* when an agent turn
    containing a ``hold_phrases`` phrase ended at most ``hold_lookback`` seconds
    before it with no other silence in between, or when the agent's turn right after it opens (first eight
    words) with a ``hold_return_phrases`` phrase ("thank you for holding");
    speaker = the agent. Otherwise it is *dead air* when at least
    ``dead_air_min`` seconds; else a *silence*. The three are exclusive.
response latency
    For each customer turn followed (in order of start, backchannels left out)
    by an agent turn, not across a hold: the agent's start minus the customer's
    end; negative when the agent starts before the customer ends. Median and
    90th percentile (linear interpolation).
questions
    Turns with a question mark, or with a sentence starting with one of
    ``question_openers``.
longest monologue
    The longest turn of the speaker (snapped span), seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import intervals as iv
from .config import ConversationConfig
from .frames import mask_to_intervals
from .records import Event, LatencyStats, Turn


@dataclass(frozen=True)
class Span:
    """When a speaker speaks: a turn snapped to their activity, or a wordless burst.

    Attributes
    ----------
    speaker : str
    start, end : float
        Seconds.
    turn : int or None
        Index into the call's turns; None for a wordless burst.
    text : str
        The words (empty for a burst).
    n_words : int
    """

    speaker: str
    start: float
    end: float
    turn: int | None = None
    text: str = ""
    n_words: int = 0

    @property
    def duration(self) -> float:
        return self.end - self.start


def snap_turns(
    turns: Sequence[Turn], activity: Mapping[str, np.ndarray], hop: float, pad: float = 0.5, join: float = 0.35
) -> list[Span]:
    """One span per turn: the turn's time snapped to its speaker's own activity.

    The span runs from the start of the first to the end of the last activity
    segment of the speaker that overlaps the turn's words, taking in segments
    that follow each other with gaps up to ``join`` seconds (words the recogniser
    missed at the edges), clipped to ``pad`` seconds around the words and to the
    neighbouring turns of the same speaker. A turn with no activity under it
    keeps its recognised times.

    Parameters
    ----------
    turns : sequence of Turn
    activity : mapping of speaker label -> bool mask on the frame grid
    hop : float
        Frame step of the masks, seconds.
    pad, join : float
        Seconds.

    Returns
    -------
    list of Span
        In the order of ``turns``.
    """
    out: list[Span | None] = [None] * len(turns)
    by_speaker: dict[str, list[int]] = {}
    for i, t in enumerate(turns):
        by_speaker.setdefault(t.speaker, []).append(i)
    for lab, idxs in by_speaker.items():
        idxs = sorted(idxs, key=lambda i: turns[i].start)
        segs = mask_to_intervals(activity[lab], hop) if lab in activity else []
        starts = np.array([s for s, _ in segs])
        ends = np.array([e for _, e in segs])
        for k, i in enumerate(idxs):
            t = turns[i]
            lo = t.start - pad
            hi = t.end + pad
            if k > 0:
                lo = max(lo, turns[idxs[k - 1]].end)
            if k + 1 < len(idxs):
                hi = min(hi, turns[idxs[k + 1]].start)
            start, end = t.start, t.end
            hit = np.flatnonzero((starts < t.end) & (ends > t.start)) if len(segs) else np.zeros(0, dtype=int)
            if hit.size:
                j0, j1 = int(hit[0]), int(hit[-1])
                while j0 > 0 and starts[j0] - ends[j0 - 1] <= join and starts[j0 - 1] >= lo:
                    j0 -= 1
                while j1 + 1 < len(segs) and starts[j1 + 1] - ends[j1] <= join and ends[j1 + 1] <= hi:
                    j1 += 1
                s, e = max(lo, float(starts[j0])), min(hi, float(ends[j1]))
                if e > s:
                    start, end = s, e
            out[i] = Span(t.speaker, round(start, 3), round(end, 3), i, t.text, len(t.words))
    return [s for s in out if s is not None]


def wordless_bursts(
    activity: np.ndarray,
    voiced: np.ndarray,
    spans: Sequence[Span],
    speaker: str,
    hop: float,
    max_duration: float,
    min_duration: float = 0.15,
    min_voiced: float = 0.5,
) -> list[Span]:
    """Short voiced activity of ``speaker`` outside all of their turns (e.g. an unrecognised "mm-hmm").

    Parameters
    ----------
    activity, voiced : np.ndarray of bool
        The speaker's activity and voiced frames on their own channel.
    spans : sequence of Span
        The speaker's turn spans (others are ignored).
    speaker : str
    hop : float
    max_duration, min_duration : float
        Length limits of a burst, seconds.
    min_voiced : float
        Share of the burst's frames that must be voiced.

    Returns
    -------
    list of Span
        ``turn = None``.
    """
    own = [(s.start, s.end) for s in spans if s.speaker == speaker]
    out: list[Span] = []
    for s, e in mask_to_intervals(activity, hop):
        d = e - s
        if d < min_duration or d > max_duration:
            continue
        if any(iv.overlap_length((s, e), o) > 0 for o in own):
            continue
        i0, i1 = int(round(s / hop)), int(round(e / hop))
        if i1 <= i0 or float(np.mean(voiced[i0:i1])) < min_voiced:
            continue
        out.append(Span(speaker, round(s, 3), round(e, 3), None, "", 0))
    return out


def place_overlaps(spans: Sequence[Span], regions: Sequence[tuple[float, float]], reach: float = 0.5) -> tuple[list[Span], list[Span]]:
    """Mono calls: let both people of each overlapped-speech region speak in it.

    Diarisation of a mono call gives one speaker per moment; the overlap
    detector (:mod:`analysis.diarization.overlap`) says where a second voice
    is present. For each region, the two speakers are those whose spans cover
    most of it (or, when one speaker's span covers it alone, that speaker and
    the other speaker whose speech is nearest in time). Each of them gets the
    region: their span that touches it, or ends or starts within ``reach``
    seconds of it, is widened over it (a turn started under the other's
    speech, or one that ran on into it); with no such span, a wordless burst
    is added (e.g. an "mm-hmm" the recogniser did not write down).

    Parameters
    ----------
    spans : sequence of Span
        Turn spans (:func:`snap_turns`).
    regions : sequence of (start, end)
        Overlapped speech, seconds.
    reach : float
        Seconds.

    Returns
    -------
    (spans, bursts)
        The spans (same order, some widened) and the new wordless bursts.
    """
    out = list(spans)
    bursts: list[Span] = []
    labels = list(dict.fromkeys(sp.speaker for sp in out))
    for s, e in regions:
        cover: dict[str, float] = {}
        for sp in out:
            cover[sp.speaker] = cover.get(sp.speaker, 0.0) + iv.overlap_length((sp.start, sp.end), (s, e))
        who = [lab for lab, c in sorted(cover.items(), key=lambda kv: -kv[1]) if c > 0][:2]
        if not who:
            continue  # no one's speech there (recogniser and diarisation heard nothing): leave it
        if len(who) == 1:
            gaps = {
                lab: min(max(0.0, sp.start - e, s - sp.end) for sp in out if sp.speaker == lab)
                for lab in labels
                if lab != who[0]
            }
            if not gaps:
                continue
            who.append(min(gaps, key=lambda lab: (gaps[lab], labels.index(lab))))
        for lab in who:
            near = [k for k, sp in enumerate(out) if sp.speaker == lab and sp.start <= e + reach and sp.end >= s - reach]
            if near:
                k = min(near, key=lambda k: (-iv.overlap_length((out[k].start, out[k].end), (s, e)), abs(out[k].start - s)))
                sp = out[k]
                out[k] = Span(sp.speaker, round(min(sp.start, s), 3), round(max(sp.end, e), 3), sp.turn, sp.text, sp.n_words)
            else:
                bursts.append(Span(lab, round(s, 3), round(e, 3), None, "", 0))
    return out, bursts


_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)*")


def _norm_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def is_backchannel_text(text: str, phrases: Sequence[str]) -> bool:
    """True when every word of ``text`` comes from the backchannel vocabulary (and there is one)."""
    vocab = {w for p in phrases for w in _norm_words(p)}
    vocab |= {p.lower() for p in phrases}
    words = _norm_words(text)
    return bool(words) and all(w in vocab for w in words)


@dataclass
class ConversationResult:
    """Events and counts of the conversation analysis."""

    events: list[Event] = field(default_factory=list)
    backchannel_spans: set[int] = field(default_factory=set)  # indices into the span list
    interruptions_made: dict[str, int] = field(default_factory=dict)
    interrupted: dict[str, int] = field(default_factory=dict)
    backchannels: dict[str, int] = field(default_factory=dict)
    questions: dict[str, int] = field(default_factory=dict)
    longest_monologue: dict[str, float] = field(default_factory=dict)
    latency: LatencyStats = field(default_factory=LatencyStats)

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)


def _floors(spans: Sequence[Span], speaker: str, bridge: float, skip: set[int]) -> list[tuple[float, float]]:
    own = [(s.start, s.end) for k, s in enumerate(spans) if s.speaker == speaker and s.turn is not None and k not in skip]
    return iv.union(own, bridge=bridge)


def find_backchannels(spans: Sequence[Span], cfg: ConversationConfig) -> list[tuple[int, str]]:
    """Backchannels among ``spans``: (index of the listener's span, speaker label they listened to)."""
    out: list[tuple[int, str]] = []
    speakers = sorted({s.speaker for s in spans})
    floors = {lab: _floors(spans, lab, cfg.interruption_yield, set()) for lab in speakers}
    for k, b in enumerate(spans):
        if b.duration > cfg.backchannel_max_duration or b.n_words > cfg.backchannel_max_words:
            continue
        if b.turn is None:
            if not cfg.backchannel_from_voice:
                continue
        elif not is_backchannel_text(b.text, cfg.backchannel_phrases):
            continue
        # B goes on talking right after: B is taking the floor, not backchannelling
        if any(
            s.speaker == b.speaker and s.turn is not None and b.end <= s.start <= b.end + cfg.interruption_yield
            for s in spans
        ):
            continue
        for lab in speakers:
            if lab == b.speaker:
                continue
            if any(s < b.start and e > b.end for s, e in floors[lab]):
                out.append((k, lab))
                break
    return out


def _words_near(turn: Turn | None, t0: float, t1: float, limit: int = 8) -> str:
    if turn is None:
        return ""
    got = [w.text for w in turn.words if w.end > t0 and w.start < t1]
    if not got and turn.words:
        return ""
    text = " ".join(got[:limit])
    return text + (" ..." if len(got) > limit else "")


def _spoke_before(activity: Mapping[str, np.ndarray] | None, speaker: str, t: float, within: float, hop: float) -> bool:
    """Whether ``speaker``'s voice was active in the ``within`` seconds before ``t`` (True when unknown)."""
    if activity is None or speaker not in activity or within <= 0:
        return True
    act = activity[speaker]
    i1 = min(len(act), int(round(t / hop)))
    i0 = max(0, i1 - int(round(within / hop)))
    return i1 > i0 and bool(np.any(act[i0:i1]))


def find_interruptions(
    spans: Sequence[Span],
    turns: Sequence[Turn],
    backchannels: set[int],
    cfg: ConversationConfig,
    activity: Mapping[str, np.ndarray] | None = None,
    hop: float = 0.01,
) -> list[Event]:
    """Interruption events (see the module docstring).

    ``activity`` (speaker -> voice activity on the ``hop`` grid), when given, must
    show A speaking in the ``interruption_pause`` seconds before B starts: B
    starting in A's pause takes a turn, it does not interrupt.
    """
    out: list[Event] = []
    real = [k for k, s in enumerate(spans) if s.turn is not None]
    for kb in real:
        if kb in backchannels:
            continue
        b = spans[kb]
        best: Span | None = None
        for ka in real:
            a = spans[ka]
            if a.speaker == b.speaker or ka in backchannels:
                continue
            if not (a.start + cfg.interruption_min_into_turn <= b.start <= a.end - cfg.overlap_min):
                continue
            if not _spoke_before(activity, a.speaker, b.start, cfg.interruption_pause, hop):
                continue
            ov = min(a.end, b.end) - b.start
            yielded = a.end - b.start <= cfg.interruption_yield
            if ov >= cfg.interruption_min_overlap or yielded:
                if best is None or a.start > best.start:
                    best = a
        if best is None:
            continue
        a = best
        ov_end = min(a.end, b.end)
        yielded = a.end - b.start <= cfg.interruption_yield
        b_words = _words_near(turns[b.turn], b.start - 0.5, b.start + 3.0) or b.text[:60]
        a_words = _words_near(turns[a.turn], b.start - 2.0, ov_end + 0.2)
        how = f"the interrupted speaker stops {a.end - b.start:.1f} s later" if yielded else f"they talk over each other for {ov_end - b.start:.1f} s"
        out.append(
            Event(
                kind="interruption",
                start=round(b.start, 3),
                end=round(ov_end, 3),
                speaker=b.speaker,
                target=a.speaker,
                detail=f"\"{b_words}\" over \"{a_words}\"; {how}",
                value=round(ov_end - b.start, 2),
                unit="s",
            )
        )
    return out


def find_overlaps(spans: Sequence[Span], min_duration: float) -> list[Event]:
    """Overlap events: spans where two or more speakers speak, at least ``min_duration`` long."""
    speakers = sorted({s.speaker for s in spans})
    by = {lab: iv.union((s.start, s.end) for s in spans if s.speaker == lab) for lab in speakers}
    pieces: list[tuple[float, float]] = []
    for i, a in enumerate(speakers):
        for b in speakers[i + 1 :]:
            pieces.extend(iv.intersect(by[a], by[b]))
    out = []
    for s, e in iv.union(pieces):
        if e - s >= min_duration:
            who = [lab for lab in speakers if any(iv.overlap_length((s, e), x) > 0 for x in by[lab])]
            out.append(
                Event(
                    kind="overlap",
                    start=round(s, 3),
                    end=round(e, 3),
                    detail=f"{' and '.join(who)} speak at once for {e - s:.1f} s",
                    value=round(e - s, 2),
                    unit="s",
                )
            )
    return out


def _has_phrase(text: str, phrases: Sequence[str]) -> str | None:
    norm = " " + " ".join(_norm_words(text)) + " "
    for p in phrases:
        q = " " + " ".join(_norm_words(p)) + " "
        if q.strip() and q in norm:
            return p
    return None


def find_silences(
    spans: Sequence[Span], turns: Sequence[Turn], agent: str | None, cfg: ConversationConfig
) -> list[Event]:
    """Silence, dead-air and hold events (see the module docstring)."""
    talk = iv.union((s.start, s.end) for s in spans)
    if len(talk) < 2:
        return []
    requests = []  # (end time, speaker, phrase, text) of hold requests
    for s in spans:
        if s.turn is None or (agent is not None and s.speaker != agent):
            continue
        p = _has_phrase(s.text, cfg.hold_phrases)
        if p:
            requests.append((s.end, s.speaker, p, s.text))
    out: list[Event] = []
    talk_since = talk[0][0]  # start of the talk since the previous silence
    for (_, e0), (s1, _) in zip(talk, talk[1:]):
        gap = s1 - e0
        if gap < cfg.silence_min:
            continue
        # a request covers the first silence after it only
        req = [r for r in requests if max(talk_since, e0 - cfg.hold_lookback) <= r[0] <= e0 + 0.05]
        talk_since = s1
        before = max((s for s in spans if s.turn is not None and s.end <= e0 + 0.05), key=lambda s: s.end, default=None)
        after = _clip(before.text) if before is not None else ""
        back = min((s for s in spans if s.turn is not None and s.start >= s1 - 0.05), key=lambda s: s.start, default=None)
        returned = (
            back is not None
            and (agent is None or back.speaker == agent)
            and _has_phrase(" ".join(back.text.split()[:8]), cfg.hold_return_phrases) is not None
        )
        if req or returned:
            if req:
                who, why = req[-1][1], f"after \"{_clip(req[-1][3])}\""
            else:
                who, why = back.speaker, f"before \"{_clip(back.text)}\""
            out.append(
                Event(kind="hold", start=round(e0, 3), end=round(s1, 3), speaker=who,
                      detail=f"{gap:.1f} s on hold {why}", value=round(gap, 2), unit="s")
            )
        elif gap >= cfg.dead_air_min:
            out.append(
                Event(kind="dead_air", start=round(e0, 3), end=round(s1, 3),
                      detail=f"{gap:.1f} s of silence, no hold announced" + (f", after \"{after}\"" if after else ""),
                      value=round(gap, 2), unit="s")
            )
        else:
            out.append(
                Event(kind="silence", start=round(e0, 3), end=round(s1, 3),
                      detail=f"{gap:.1f} s of silence" + (f" after \"{after}\"" if after else ""),
                      value=round(gap, 2), unit="s")
            )
    return out


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else "..." + text[-(n - 3):]


def response_latency(
    spans: Sequence[Span],
    agent: str | None,
    customer: str | None,
    skip: set[int],
    holds: Sequence[tuple[float, float]] = (),
) -> LatencyStats:
    """Latency of the agent's replies to the customer (see the module docstring).

    ``skip`` holds indices of spans left out (backchannels); a reply across a
    hold in ``holds`` is not a reply (the customer was told to wait).
    """
    if agent is None or customer is None:
        return LatencyStats()
    floor = sorted(
        (s for k, s in enumerate(spans) if s.turn is not None and k not in skip), key=lambda s: (s.start, s.end)
    )
    lat = [
        b.start - a.end
        for a, b in zip(floor, floor[1:])
        if a.speaker == customer
        and b.speaker == agent
        and not any(iv.overlap_length((a.end, b.start), h) > 0 for h in holds)
    ]
    if not lat:
        return LatencyStats()
    arr = np.array(lat)
    return LatencyStats(n=len(lat), median=round(float(np.median(arr)), 3), p90=round(float(np.percentile(arr, 90)), 3))


def is_question(text: str, openers: Sequence[str]) -> bool:
    """True when ``text`` has a question mark or a sentence starting with a question opener."""
    if "?" in text:
        return True
    for sent in re.split(r"[.!;]+", text):
        words = _norm_words(sent)
        if not words:
            continue
        head = " ".join(words[:3])
        for o in openers:
            ow = " ".join(_norm_words(o))
            if ow and (head == ow or head.startswith(ow + " ")):
                return True
    return False


def analyse_conversation(
    spans: Sequence[Span],
    turns: Sequence[Turn],
    agent: str | None,
    customer: str | None,
    cfg: ConversationConfig,
    activity: Mapping[str, np.ndarray] | None = None,
    hop: float = 0.01,
) -> ConversationResult:
    """All conversation events and counts.

    Parameters
    ----------
    spans : sequence of Span
        Snapped turn spans (:func:`snap_turns`) and wordless bursts.
    turns : sequence of Turn
        The call's turns (``Span.turn`` indexes them).
    agent, customer : str or None
        Labels of the agent and the customer, when known.
    cfg : ConversationConfig
    activity : mapping of speaker -> bool mask, optional
        Each speaker's voice activity on the ``hop`` grid (see :func:`find_interruptions`).
    hop : float

    Returns
    -------
    ConversationResult
    """
    res = ConversationResult()
    labels = sorted({s.speaker for s in spans} | {t.speaker for t in turns})
    for lab in labels:
        res.interruptions_made[lab] = 0
        res.interrupted[lab] = 0
        res.backchannels[lab] = 0
        res.questions[lab] = sum(1 for t in turns if t.speaker == lab and is_question(t.text, cfg.question_openers))
        res.longest_monologue[lab] = round(max((s.duration for s in spans if s.speaker == lab and s.turn is not None), default=0.0), 3)

    bcs = find_backchannels(spans, cfg)
    res.backchannel_spans = {k for k, _ in bcs}
    events: list[Event] = []
    for k, target in bcs:
        b = spans[k]
        said = f"\"{b.text}\"" if b.turn is not None else f"a wordless {b.duration:.1f} s voiced sound"
        main = next((s for s in spans if s.speaker == target and s.turn is not None and s.start < b.start < s.end), None)
        a_words = _words_near(turns[main.turn], b.start - 1.0, b.end + 0.5) if main is not None else ""
        events.append(
            Event(
                kind="backchannel",
                start=round(b.start, 3),
                end=round(b.end, 3),
                speaker=b.speaker,
                target=target,
                detail=f"{said} while the other speaker keeps talking" + (f" (\"{a_words}\")" if a_words else ""),
                value=round(b.duration, 2),
                unit="s",
            )
        )
        res.backchannels[b.speaker] = res.backchannels.get(b.speaker, 0) + 1
    for ev in find_interruptions(spans, turns, res.backchannel_spans, cfg, activity, hop):
        events.append(ev)
        res.interruptions_made[ev.speaker] = res.interruptions_made.get(ev.speaker, 0) + 1
        res.interrupted[ev.target] = res.interrupted.get(ev.target, 0) + 1
    events.extend(find_overlaps(spans, cfg.overlap_min))
    events.extend(find_silences(spans, turns, agent, cfg))
    res.events = events
    holds = [(e.start, e.end) for e in events if e.kind == "hold"]
    res.latency = response_latency(spans, agent, customer, res.backchannel_spans, holds)
    return res
