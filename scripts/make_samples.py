#!/usr/bin/env python3
"""Generate the synthetic sample calls in ``sample_audio/`` (audio + ground truth).

Each call is a written dialogue between an *agent* and a *customer*.  Every line
is spoken by the ``espeak-ng`` binary with the speaker's own voice (and per-line
amplitude / pitch / speed), trimmed to where the speech really is, resampled to
the call's rate and placed on the speaker's own track.  The tracks become a
stereo recording (one speaker per channel, with a faint bleed of the other
channel) or a mono one (both summed); a faint seeded noise floor is added.

Beside each audio file, ``<call>.truth.json`` holds the ground truth: every line
with its real start / end, the events (overlaps, interruptions, backchannels,
silences, dead air, holds, raised voice, fast speech) *computed from the placed
lines* with the definitions below, and the behaviour cues planted in the text.

Event definitions (times in seconds)
------------------------------------
overlap       every span in which lines of both speakers sound (speaker = null).
interruption  B starts while A is mid-turn (more than ``MID_TURN_MIN`` s after A
              started and before A ends), B's line is not a backchannel, and A
              ends within 1.0 s after B's start or the overlap lasts >= 0.5 s;
              speaker = B, target = A, start = B's start, end = end of overlap.
backchannel   a listener response of <= 3 words, all from BACKCHANNEL_WORDS
              ("mm-hmm", "I see", "right", "okay", ...), that starts inside the
              other speaker's line and ends before it (the other keeps talking);
              speaker = the listener, target = the main speaker.
silence       both silent >= 2.0 s and < 5.0 s (not a hold).
dead_air      both silent >= 5.0 s and not a hold.
hold          both silent >= 2.0 s right after the agent asked to place the
              customer on hold: the agent's last line before the silence is the
              hold request, followed by at most one customer line (the consent,
              e.g. "Sure, go ahead."); speaker = "agent".
raised_voice  a line synthesised at raised amplitude (and pitch); speaker = who.
fast_speech   a line synthesised at >= 220 words per minute; speaker = who.
The three silence kinds are exclusive: hold, else dead_air, else silence.
Silence before the first and after the last line is not counted.

The output is deterministic: the same script, espeak-ng and libsndfile write
byte-identical files.  ``--check`` regenerates into a temporary folder and
compares with the output folder.

Usage::

    python scripts/make_samples.py [--out sample_audio] [--check]

Requires numpy, scipy, soundfile and the ``espeak-ng`` program
(``apt-get install espeak-ng``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from itertools import pairwise
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter, resample_poly

TRUTH_VERSION = 1
ROLES = ("agent", "customer")
MANIFEST = "MANIFEST.txt"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "sample_audio"

# --- event thresholds (see module docstring) -----------------------------------
MID_TURN_MIN = 0.5  # B must start at least this long after A started to be "mid-turn"
INTERRUPT_YIELD = 1.0  # A stops within this long after B starts ...
INTERRUPT_OVERLAP = 0.5  # ... or they overlap at least this long
BACKCHANNEL_MAX_WORDS = 3
# words a listener's short response is made of ("mm-hmm", "I see", "right", ...)
BACKCHANNEL_WORDS = frozenset(
    {"mm-hmm", "mhm", "uh-huh", "hmm", "yeah", "yes", "yep", "right", "okay", "ok", "sure", "alright"}
    | {"i", "see", "got", "it", "oh", "ah", "true", "exactly"}
)
SILENCE_MIN = 2.0
DEAD_AIR_MIN = 5.0
RAISED_AMP_MIN = 170  # espeak amplitude from which a line counts as raised voice
FAST_WPM = 220
SAME_SPEAKER_MIN_PAUSE = 1.0  # shorter pauses join one speaker's lines into one turn

# --- mixing ------------------------------------------------------------------------
BLEED_DB = -35.0  # the other channel, leaking into each channel of a stereo call
NOISE_DBFS = -60.0  # RMS of the (pink) noise floor, added after normalisation
# FLAC files keep 16-bit samples but on a grid of FLAC_STEP LSBs (11-bit resolution):
# FLAC stores the unused low bits for free ("wasted bits"), which keeps the five
# calls under 5 MB.  The grid's rounding noise (about -71 dBFS) lies well below the
# -60 dBFS noise floor, which also dithers it.
FLAC_STEP = 32
PEAK_DBFS = -3.0  # peak of the whole call
LEAD_IN = 0.5  # silence before the first line, seconds
TAIL = 1.0  # silence after the last line, seconds
CUT_FADE = 0.02  # fade-out at the end of a line that is cut short, seconds

# --- trimming -----------------------------------------------------------------------
TRIM_FRAME = 0.005  # seconds
TRIM_FLOOR_DB = -55.0  # absolute frame-RMS threshold, dBFS ...
TRIM_RANGE_DB = 45.0  # ... or this far below the loudest frame, whichever is higher

EVENT_KINDS = (
    "overlap",
    "interruption",
    "backchannel",
    "silence",
    "dead_air",
    "hold",
    "raised_voice",
    "fast_speech",
)
CUES = (
    "acknowledgement",
    "empathy",
    "apology_sincere",
    "non_apology",
    "paraphrase",
    "open_question",
    "ownership",
    "policy_hiding",
    "blame",
    "hold_permission",
    "hold_thanks",
    "alternatives",
    "escalation_offer",
    "closing_loop",
    "customer_repetition",
    "customer_frustration",
    "manager_request",
    "customer_thanks",
)


class GenerationError(RuntimeError):
    """A call cannot be generated (missing tool or an inconsistent dialogue)."""


# ==================================================================================
# Dialogue description
# ==================================================================================


@dataclass(frozen=True)
class Voice:
    """A speaker's default espeak-ng settings."""

    voice: str
    pitch: int
    speed: int
    amp: int


@dataclass(frozen=True)
class Line:
    """One dialogue line.

    Timing: by default the line starts ``gap`` seconds after the end of the latest
    line so far (negative = it starts before that line ends).  With ``at`` it starts
    ``at`` seconds after the start of the other speaker's most recent line (for
    backchannels and talking at once).
    """

    speaker: str
    text: str
    gap: float = 0.5
    at: float | None = None
    amp: int | None = None
    pitch: int | None = None
    speed: int | None = None
    raised: bool = False  # planted raised voice (amplitude >= RAISED_AMP_MIN)
    backchannel: bool = False  # planted backchannel (checked against the definition)
    cut: bool = False  # cut short by the next line; ``text`` holds only the audible words
    hold_request: bool = False  # the agent asks for / announces a hold
    cues: tuple[tuple[str, str], ...] = ()  # (cue, exact quote from ``text``)


def A(text: str, *, cues: dict[str, str] | None = None, **kw) -> Line:
    return Line("agent", text, cues=tuple((cues or {}).items()), **kw)


def C(text: str, *, cues: dict[str, str] | None = None, **kw) -> Line:
    return Line("customer", text, cues=tuple((cues or {}).items()), **kw)


@dataclass(frozen=True)
class Call:
    name: str
    layout: str  # "stereo" | "mono"
    rate: int
    agent_channel: str | None  # "left" | "right" | None (mono)
    container: str  # soundfile format: "FLAC" | "WAV"
    subtype: str  # soundfile subtype: "PCM_16" | "ULAW"
    voices: dict[str, Voice]
    lines: tuple[Line, ...]
    seed: int
    # planted events the dialogue is meant to produce (kind -> count); checked
    expect: dict[str, int] = field(default_factory=dict)

    @property
    def audio_name(self) -> str:
        return f"{self.name}.{'flac' if self.container == 'FLAC' else 'wav'}"


GREETING = "Thank you for calling Northwind Energy, my name is {name}, how can I help you today?"

# ----------------------------------------------------------------------------------
# 1. calm_agent: calm, empathetic agent; frustrated customer who calms down.
# ----------------------------------------------------------------------------------
CALM_AGENT = Call(
    name="calm_agent",
    layout="stereo",
    rate=16000,
    agent_channel="left",
    container="FLAC",
    subtype="PCM_16",
    voices={
        "agent": Voice("en-us+m3", pitch=45, speed=160, amp=90),
        "customer": Voice("en-gb-x-rp+f2", pitch=60, speed=170, amp=100),
    },
    seed=1001,
    lines=(
        A(GREETING.format(name="Sam")),
        C(
            "Hi. My electricity bill is completely wrong, it is almost double the usual amount, "
            "and I am really not happy about it.",
            gap=0.6,
            amp=125,
            cues={"customer_frustration": "I am really not happy about it"},
        ),
        A(
            "I can see why that's frustrating, and I'm sorry about this mix-up. Can you walk me through what happened?",
            gap=0.5,
            cues={
                "acknowledgement": "I can see why that's frustrating",
                "apology_sincere": "I'm sorry about this mix-up",
                "open_question": "Can you walk me through what happened?",
            },
        ),
        C(
            "Well, the statement came this morning, and October is listed two times, with the same amount both times. "
            "I always pay on time, so I really do not understand how this could happen.",
            gap=0.5,
            amp=120,
        ),
        A("I see.", at=3.6, backchannel=True),
        A("Right.", at=8.2, backchannel=True),
        A(
            "So if I understand correctly, you were charged twice for October. "
            "That sounds really stressful, and I will take care of this for you.",
            gap=0.5,
            cues={
                "paraphrase": "So if I understand correctly, you were charged twice for October",
                "empathy": "That sounds really stressful",
                "ownership": "I will take care of this for you",
            },
        ),
        C("Yes, that is exactly right.", gap=0.4, amp=105),
        A(
            "May I place you on a brief hold while I check?",
            gap=0.5,
            hold_request=True,
            cues={"hold_permission": "May I place you on a brief hold while I check?"},
        ),
        C("Sure, go ahead.", gap=0.4, amp=95),
        A(
            "Thank you for holding. The October charge was applied twice by mistake.",
            gap=8.0,
            cues={"hold_thanks": "Thank you for holding"},
        ),
        C("Okay. So what happens now?", gap=0.5, amp=90),
        A(
            "I can refund the extra amount to your card, or add it as a credit to your next bill. "
            "Which would you prefer?",
            gap=0.5,
            cues={
                "alternatives": "I can refund the extra amount to your card, or add it as a credit to your next bill"
            },
        ),
        C("The refund to my card, please.", gap=0.5, amp=80),
        A(
            "Of course, the refund is done. Is there anything else I can help you with today?",
            gap=0.5,
            cues={"closing_loop": "Is there anything else I can help you with today?"},
        ),
        C(
            "No, that is all. Thank you so much for your help.",
            gap=0.5,
            amp=70,
            cues={"customer_thanks": "Thank you so much for your help"},
        ),
        A("You are very welcome. Have a lovely day.", gap=0.4),
    ),
    expect={
        "backchannel": 2,
        "hold": 1,
        "interruption": 0,
        "silence": 0,
        "dead_air": 0,
        "raised_voice": 0,
        "fast_speech": 0,
    },
)

# ----------------------------------------------------------------------------------
# 2. rude_agent: interrupting, loud, fast agent who hides behind policy.
# ----------------------------------------------------------------------------------
RUDE_AGENT = Call(
    name="rude_agent",
    layout="stereo",
    rate=16000,
    agent_channel="right",
    container="FLAC",
    subtype="PCM_16",
    voices={
        "agent": Voice("en+m5", pitch=40, speed=175, amp=80),
        "customer": Voice("en-us+f2", pitch=55, speed=165, amp=100),
    },
    seed=1002,
    lines=(
        A(GREETING.format(name="Derek")),
        C(
            "Hi, I was charged a late fee on my bill, but I paid on time, and I have the receipt from my bank",
            gap=0.6,
            cut=True,
        ),
        A(
            "Late fees are added automatically. It's our policy.",
            gap=-0.7,
            cues={"policy_hiding": "It's our policy"},
        ),
        C(
            "But I paid on time. I paid on the third, and the due date was the fifth, so the fee",
            gap=0.5,
            cut=True,
            cues={"customer_repetition": "But I paid on time"},
        ),
        A(
            "Look, there's nothing I can do about it. The system says it was late, so it was late.",
            gap=-0.6,
            raised=True,
            amp=195,
            pitch=60,
            cues={"policy_hiding": "there's nothing I can do about it"},
        ),
        C("Can you at least check when the payment arrived? Because my bank says", gap=0.5, cut=True),
        A(
            "Payments can take three working days to clear. "
            "You should have read the terms and conditions when you signed up.",
            gap=-0.7,
            speed=245,
            cues={"blame": "You should have read the terms"},
        ),
        C(
            "Nobody ever told me that. I am really upset about this. "
            "This is the third time I have called about this fee.",
            gap=0.5,
            cues={"customer_frustration": "I am really upset about this"},
        ),
        A("Sorry if you feel that way.", gap=0.4, cues={"non_apology": "Sorry if you feel that way"}),
        C(
            "I do not want you to be sorry. I want the fee removed, because I paid on time. Can you remove it?",
            gap=0.5,
            cues={"customer_repetition": "I paid on time"},
        ),
        C("Hello? Are you still there?", gap=6.2),
        A(
            "Yes, I'm still here. I already told you, I cannot remove it.",
            gap=0.4,
            raised=True,
            amp=190,
            pitch=60,
        ),
        C(
            "Then I would like to speak to a manager, please.",
            gap=0.5,
            cues={"manager_request": "I would like to speak to a manager"},
        ),
        A("There's no manager available right now.", gap=0.5, speed=230),
        C(
            "Then I will call back tomorrow, and I will ask for a manager again.",
            gap=0.6,
            cues={"customer_repetition": "I will ask for a manager again"},
        ),
        A("Fine. Is there anything else?", gap=0.4),
        C("No, there is nothing else. Goodbye.", gap=0.6),
    ),
    expect={
        "interruption": 3,
        "backchannel": 0,
        "silence": 0,
        "dead_air": 1,
        "hold": 0,
        "raised_voice": 2,
        "fast_speech": 2,
    },
)

# ----------------------------------------------------------------------------------
# 3. mono_call: an ordinary polite call, both voices in one channel.
# ----------------------------------------------------------------------------------
MONO_CALL = Call(
    name="mono_call",
    layout="mono",
    rate=16000,
    agent_channel=None,
    container="FLAC",
    subtype="PCM_16",
    voices={
        "agent": Voice("en-us+f1", pitch=55, speed=165, amp=90),
        "customer": Voice("en-gb-x-rp+m5", pitch=40, speed=160, amp=90),
    },
    seed=1003,
    lines=(
        A("Good morning, thank you for calling Northwind Energy, this is Emma speaking. How can I help you?"),
        C(
            "Good morning. I am moving house next month, and I would like to move my account to the new address.",
            gap=0.7,
        ),
        A("Of course. May I have your account number, please?", gap=0.5),
        C("Yes, it is four seven two, nine one eight. And the new address is twelve Harbour Road.", gap=0.8),
        A("Okay.", at=2.3, backchannel=True),
        A("Thank you. Let me just update that for you.", gap=0.4),
        A("All done. Your account will move to twelve Harbour Road on the first of next month.", gap=3.0),
        C(
            "That is great, thank you. Could I also ask about paperless billing? I would like my bills by email.",
            gap=0.6,
        ),
        A("Oh sorry.", at=0.1),
        A("Yes, paperless billing is free. I have switched it on, and your next bill will go to your email.", gap=0.5),
        C("Right.", at=2.0, backchannel=True),
        C("Perfect. That is everything I needed.", gap=0.3),
        A(
            "Wonderful. Is there anything else I can help you with today?",
            gap=0.5,
            cues={"closing_loop": "Is there anything else I can help you with today?"},
        ),
        C("No, that is all. Thank you very much.", gap=0.6, cues={"customer_thanks": "Thank you very much"}),
        A("You are welcome. Good luck with the move, and have a nice day.", gap=0.4),
    ),
    expect={
        "interruption": 0,
        "backchannel": 2,
        "silence": 1,
        "overlap": 3,
        "dead_air": 0,
        "hold": 0,
        "raised_voice": 0,
        "fast_speech": 0,
    },
)

# ----------------------------------------------------------------------------------
# 4. tel_billing_8k: telephone-band stereo mu-law call about a billing dispute.
# ----------------------------------------------------------------------------------
TEL_BILLING = Call(
    name="tel_billing_8k",
    layout="stereo",
    rate=8000,
    agent_channel="left",
    container="WAV",
    subtype="ULAW",
    voices={
        "agent": Voice("en-gb-x-rp+m3", pitch=50, speed=160, amp=90),
        "customer": Voice("en-us+m7", pitch=50, speed=165, amp=80),
    },
    seed=1004,
    lines=(
        A("Northwind Energy billing, this is Oliver, how can I help?"),
        C(
            "You have charged me ninety pounds for a meter reading that never happened! "
            "This is the second time this year!",
            gap=0.5,
            raised=True,
            amp=195,
            pitch=70,
            cues={"customer_frustration": "This is the second time this year!"},
        ),
        A(
            "I'm sorry to hear that. What date is on the charge?",
            gap=0.6,
            cues={"apology_sincere": "I'm sorry to hear that", "open_question": "What date is on the charge?"},
        ),
        C(
            "The fourteenth of March, but nobody came to my house that day, and I was at home",
            gap=0.5,
            amp=90,
            cut=True,
        ),
        A(
            "Okay, so the charge is dated the fourteenth of March.",
            gap=-0.6,
            cues={"paraphrase": "so the charge is dated the fourteenth of March"},
        ),
        C(
            "Yes. My doorbell camera shows that nobody came, so I would like that charge removed, please.",
            gap=0.5,
            amp=85,
        ),
        A("I see.", at=1.5, backchannel=True),
        A("Right.", at=3.9, backchannel=True),
        A(
            "That makes sense. May I put you on hold while I check the visit records?",
            gap=0.5,
            hold_request=True,
            cues={
                "acknowledgement": "That makes sense",
                "hold_permission": "May I put you on hold while I check the visit records?",
            },
        ),
        C("Yes, that's fine.", gap=0.4),
        A(
            "Thank you for waiting. There is no record of a visit, so I have removed the charge.",
            gap=7.0,
            cues={"hold_thanks": "Thank you for waiting"},
        ),
        C("Oh, good. So will my next bill", gap=0.6, amp=75, cut=True),
        A("Your next bill will show the credit, yes.", gap=-0.5),
        A(
            "If this happens again, I can escalate it to my supervisor. Is there anything else I can do for you?",
            gap=2.8,
            cues={
                "escalation_offer": "I can escalate it to my supervisor",
                "closing_loop": "Is there anything else I can do for you?",
            },
        ),
        C(
            "No, that is everything. Thank you for your help.",
            gap=0.5,
            amp=70,
            cues={"customer_thanks": "Thank you for your help"},
        ),
    ),
    expect={
        "interruption": 2,
        "backchannel": 2,
        "hold": 1,
        "silence": 1,
        "dead_air": 0,
        "raised_voice": 1,
        "fast_speech": 0,
    },
)

# ----------------------------------------------------------------------------------
# 5. tel_support_8k: telephone-band mono call to technical support.
# ----------------------------------------------------------------------------------
TEL_SUPPORT = Call(
    name="tel_support_8k",
    layout="mono",
    rate=8000,
    agent_channel=None,
    container="WAV",
    subtype="PCM_16",
    voices={
        "agent": Voice("en-us+m2", pitch=35, speed=165, amp=72),
        "customer": Voice("en+f2", pitch=60, speed=160, amp=90),
    },
    seed=1005,
    lines=(
        A("Northwind Energy technical support, this is Ryan. How can I help?"),
        C("Hello. My smart meter display has been blank since yesterday, and I cannot see my usage.", gap=0.6),
        A(
            "Sorry about that. Please check that the display is plugged in, "
            "and then hold the button on the side for ten",
            gap=0.5,
            cut=True,
            cues={"apology_sincere": "Sorry about that"},
        ),
        C("I already tried that, it did not work.", gap=-0.6),
        A("Okay. Then let me check the meter from here.", gap=0.5),
        C("Hello? Are you there?", gap=6.0),
        A(
            "Yes, I am here! The line is very bad. Can you hear me now?",
            gap=0.4,
            raised=True,
            amp=200,
            pitch=55,
        ),
        C("Yes, I can hear you.", gap=0.5),
        A(
            "Good. The display lost its connection, so I am sending a reset signal, "
            "and it should come back within two minutes.",
            gap=0.5,
        ),
        C("Okay.", at=2.0, backchannel=True),
        C("Uh-huh.", at=4.4, backchannel=True),
        A("While we wait, I will check your last meter reading.", gap=1.2),
        C("Sorry, go on.", at=0.1),
        C(
            "Great, it just came back on. Thank you so much for your help.",
            gap=0.6,
            cues={"customer_thanks": "Thank you so much"},
        ),
        A(
            "You are welcome. Is there anything else I can help with?",
            gap=0.5,
            cues={"closing_loop": "Is there anything else I can help with?"},
        ),
        C("No, that is all. Goodbye.", gap=0.5),
    ),
    expect={
        "interruption": 1,
        "backchannel": 2,
        "silence": 0,
        "dead_air": 1,
        "hold": 0,
        "raised_voice": 1,
        "fast_speech": 0,
    },
)

CALLS: tuple[Call, ...] = (CALM_AGENT, RUDE_AGENT, MONO_CALL, TEL_BILLING, TEL_SUPPORT)


# ==================================================================================
# Synthesis
# ==================================================================================


def find_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise GenerationError("espeak-ng not found: apt-get install espeak-ng")
    return exe


def espeak_version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("Data at")[0].strip()


class Synth:
    """espeak-ng front end with an in-memory cache (same settings -> same audio)."""

    def __init__(self, exe: str, workdir: Path) -> None:
        self.exe = exe
        self.workdir = workdir
        self.cache: dict[tuple, tuple[np.ndarray, int]] = {}

    def __call__(self, text: str, voice: str, speed: int, pitch: int, amp: int) -> tuple[np.ndarray, int]:
        key = (text, voice, speed, pitch, amp)
        if key not in self.cache:
            if text.startswith("-"):
                raise GenerationError(f"line text must not start with '-': {text!r}")
            path = self.workdir / "line.wav"
            cmd = [self.exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amp), "-w", str(path), text]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or not path.exists():
                raise GenerationError(f"espeak-ng failed for voice {voice!r}: {proc.stderr.strip()}")
            x, sr = sf.read(path, dtype="float64", always_2d=True)
            path.unlink()
            self.cache[key] = (x[:, 0].copy(), int(sr))
        return self.cache[key]


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return x
    g = gcd(sr_in, sr_out)
    return resample_poly(x, sr_out // g, sr_in // g)


def trim(x: np.ndarray, sr: int) -> np.ndarray:
    """Cut leading and trailing silence (frame-RMS threshold, 5 ms frames)."""
    frame = max(1, round(TRIM_FRAME * sr))
    n = len(x) // frame
    if n == 0:
        raise GenerationError("espeak-ng produced no audio")
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    db = 20 * np.log10(rms + 1e-12)
    thr = max(TRIM_FLOOR_DB, float(db.max()) - TRIM_RANGE_DB)
    loud = np.flatnonzero(db > thr)
    if loud.size == 0:
        raise GenerationError("espeak-ng produced only silence")
    start, end = loud[0] * frame, min(len(x), (loud[-1] + 1) * frame)
    return x[start:end]


@dataclass
class Placed:
    """A line placed on the timeline (sample positions at the call's rate)."""

    line: Line
    index: int  # position in the dialogue
    start: int
    audio: np.ndarray
    amp: int
    pitch: int
    speed: int

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


def place_lines(call: Call, synth: Synth) -> list[Placed]:
    sr = call.rate
    placed: list[Placed] = []
    for i, line in enumerate(call.lines):
        if line.speaker not in ROLES:
            raise GenerationError(f"{call.name} line {i}: unknown speaker {line.speaker!r}")
        v = call.voices[line.speaker]
        amp = line.amp if line.amp is not None else v.amp
        pitch = line.pitch if line.pitch is not None else v.pitch
        speed = line.speed if line.speed is not None else v.speed
        x, sr_in = synth(line.text, v.voice, speed, pitch, amp)
        y = trim(resample(x, sr_in, sr), sr)
        if line.cut:
            nf = round(CUT_FADE * sr)
            y = y.copy()
            y[-nf:] *= np.linspace(1.0, 0.0, nf)
        if not placed:
            start = round(LEAD_IN * sr)
        elif line.at is not None:
            ref = [p for p in placed if p.line.speaker != line.speaker]
            if not ref:
                raise GenerationError(f"{call.name} line {i}: 'at' needs an earlier line of the other speaker")
            start = ref[-1].start + round(line.at * sr)
        else:
            start = max(p.end for p in placed) + round(line.gap * sr)
        if start < 0:
            raise GenerationError(f"{call.name} line {i}: starts before the call")
        placed.append(Placed(line, i, start, y, amp, pitch, speed))
    return placed


# ==================================================================================
# Ground truth
# ==================================================================================


def _r(x: float) -> float:
    return round(float(x), 3)


def _words(text: str) -> list[str]:
    return [w.strip('.,!?;:"').lower() for w in text.split()]


def is_backchannel_text(text: str) -> bool:
    words = _words(text)
    return 0 < len(words) <= BACKCHANNEL_MAX_WORDS and all(w in BACKCHANNEL_WORDS for w in words)


def compute_events(call: Call, turns: list[Placed]) -> list[dict]:
    """All events, from the placed lines (``turns`` sorted by start)."""
    sr = call.rate

    def t(pos: int) -> float:
        return pos / sr  # seconds of a sample position

    events: list[dict] = []

    def ev(kind, start, end, speaker=None, target=None, detail=""):
        events.append(
            {"kind": kind, "start": _r(start), "end": _r(end), "speaker": speaker, "target": target, "detail": detail}
        )

    # overlaps: every intersection of lines of different speakers, merged per time span
    spans: list[tuple[int, int, bool]] = []
    for i, a in enumerate(turns):
        for b in turns[i + 1 :]:
            if a.line.speaker != b.line.speaker:
                s, e = max(a.start, b.start), min(a.end, b.end)
                if s < e:
                    spans.append((s, e, abs(a.start - b.start) <= MID_TURN_MIN * sr))
    merged: list[list] = []
    for s, e, together in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
            merged[-1][2] |= together
        else:
            merged.append([s, e, together])
    for s, e, together in merged:
        how = "both start talking at once and" if together else "both speakers"
        ev("overlap", t(s), t(e), detail=f"{how} talk for {t(e - s):.2f} s")

    # backchannels and interruptions
    for b in turns:
        for a in turns:
            if a.line.speaker == b.line.speaker or not (a.start < b.start < a.end):
                continue
            bt = f'"{b.line.text}"'
            if is_backchannel_text(b.line.text) and b.end < a.end:
                ev(
                    "backchannel",
                    t(b.start),
                    t(b.end),
                    b.line.speaker,
                    a.line.speaker,
                    f"{bt} while the {a.line.speaker} keeps talking",
                )
                continue
            if b.start - a.start <= MID_TURN_MIN * sr:
                continue  # both started at (nearly) the same time: an overlap, not an interruption
            ov_end = min(a.end, b.end)
            yielded = (a.end - b.start) <= INTERRUPT_YIELD * sr
            if yielded or (ov_end - b.start) >= INTERRUPT_OVERLAP * sr:
                how = (
                    f"the {a.line.speaker} stops {t(a.end - b.start):.2f} s later"
                    if yielded
                    else f"they talk over each other for {t(ov_end - b.start):.2f} s"
                )
                ev(
                    "interruption",
                    t(b.start),
                    t(ov_end),
                    b.line.speaker,
                    a.line.speaker,
                    f"{bt} starts while the {a.line.speaker} is mid-turn; {how}",
                )

    # silences, dead air and holds: gaps of the union of all lines
    union: list[list[int]] = []
    for p in sorted(turns, key=lambda p: p.start):
        if union and p.start <= union[-1][1]:
            union[-1][1] = max(union[-1][1], p.end)
        else:
            union.append([p.start, p.end])
    for (_, e0), (s1, _) in pairwise(union):
        gap = (s1 - e0) / sr
        if gap < SILENCE_MIN:
            continue
        done = sorted((p for p in turns if p.end <= e0), key=lambda p: (p.end, p.start))
        agent_lines = [k for k, p in enumerate(done) if p.line.speaker == "agent"]
        request = done[agent_lines[-1]] if agent_lines else None
        if request is not None and request.line.hold_request and len(done) - agent_lines[-1] <= 2:
            ev("hold", t(e0), t(s1), "agent", None, f'{gap:.2f} s on hold after "{request.line.text}"')
        elif gap >= DEAD_AIR_MIN:
            ev("dead_air", t(e0), t(s1), detail=f"{gap:.2f} s of silence with no hold request")
        else:
            ev("silence", t(e0), t(s1), detail=f"{gap:.2f} s of silence")

    # raised voice and fast speech: from the synthesis settings
    for p in turns:
        if p.amp >= RAISED_AMP_MIN:
            ev(
                "raised_voice",
                t(p.start),
                t(p.end),
                p.line.speaker,
                None,
                f"espeak amplitude {p.amp} (normally {call.voices[p.line.speaker].amp}), pitch {p.pitch}",
            )
        if p.speed >= FAST_WPM:
            ev("fast_speech", t(p.start), t(p.end), p.line.speaker, None, f"spoken at {p.speed} words per minute")

    events.sort(key=lambda e: (e["start"], e["end"], EVENT_KINDS.index(e["kind"]), e["speaker"] or ""))
    return events


def check_design(call: Call, turns: list[Placed], events: list[dict]) -> None:
    """Fail loudly when the placed dialogue does not produce what it was written to."""
    sr = call.rate
    problems: list[str] = []
    bc_starts = {_r(p.start / sr) for p in turns if p.line.backchannel}
    got_bc = {e["start"] for e in events if e["kind"] == "backchannel"}
    if bc_starts != got_bc:
        problems.append(f"backchannels planted at {sorted(bc_starts)} but found at {sorted(got_bc)}")
    for p in turns:
        if p.line.raised != (p.amp >= RAISED_AMP_MIN):
            problems.append(f"line {p.index}: raised={p.line.raised} but amplitude {p.amp}")
        if p.line.raised and len(p.audio) < 1.5 * sr:
            problems.append(f"line {p.index}: raised-voice line shorter than 1.5 s")
        if not p.line.raised and p.amp >= 140:
            problems.append(f"line {p.index}: amplitude {p.amp} is close to raised voice")
        if p.line.cut:
            hit = [
                e
                for e in events
                if e["kind"] == "interruption"
                and e["target"] == p.line.speaker
                and abs(e["end"] - _r(p.end / sr)) < 1e-6
            ]
            if not hit:
                problems.append(f"line {p.index}: cut short but no interruption ends it")
        for cue, quote in p.line.cues:
            if cue not in CUES:
                problems.append(f"line {p.index}: unknown cue {cue!r}")
            if quote not in p.line.text:
                problems.append(f"line {p.index}: quote {quote!r} not in the text")
    counts = {k: sum(e["kind"] == k for e in events) for k in EVENT_KINDS}
    for kind, n in call.expect.items():
        if counts[kind] != n:
            problems.append(f"expected {n} {kind} event(s), found {counts[kind]}")
    # one speaker's consecutive lines must not overlap, and must not be so close (with
    # nobody else starting in between) that they read as one turn
    by_speaker: dict[str, list[Placed]] = {}
    for p in turns:
        by_speaker.setdefault(p.line.speaker, []).append(p)
    for ps in by_speaker.values():
        for a, b in pairwise(ps):
            if b.start < a.end:
                problems.append(f"lines {a.index} and {b.index}: one speaker overlaps themself")
            others = [q for q in turns if q.line.speaker != a.line.speaker and a.start <= q.start <= b.start]
            if b.start - a.end < SAME_SPEAKER_MIN_PAUSE * sr and not others:
                problems.append(f"lines {a.index} and {b.index}: same speaker, pause under {SAME_SPEAKER_MIN_PAUSE} s")
    if problems:
        raise GenerationError(f"{call.name}: " + "; ".join(problems))


def build_truth(call: Call, turns: list[Placed], n_samples: int) -> dict:
    sr = call.rate
    events = compute_events(call, turns)
    check_design(call, turns, events)
    order = {id(p): k for k, p in enumerate(turns)}
    behaviours = []
    for p in turns:
        for cue, quote in p.line.cues:
            behaviours.append({"cue": cue, "speaker": p.line.speaker, "turn": order[id(p)], "quote": quote})
    return {
        "truth_version": TRUTH_VERSION,
        "call_id": call.name,
        "audio": call.audio_name,
        "layout": call.layout,
        "sample_rate": sr,
        "duration": _r(n_samples / sr),
        "agent_channel": call.agent_channel,
        "speakers": {
            role: {"voice": call.voices[role].voice, "pitch": call.voices[role].pitch, "speed": call.voices[role].speed}
            for role in ROLES
        },
        "turns": [
            {"speaker": p.line.speaker, "start": _r(p.start / sr), "end": _r(p.end / sr), "text": p.line.text}
            for p in turns
        ],
        "events": events,
        "behaviours": behaviours,
    }


# ==================================================================================
# Mixing and writing
# ==================================================================================


def mix(call: Call, turns: list[Placed]) -> np.ndarray:
    """The call's samples as int16, shape (n,) for mono or (n, 2) for stereo."""
    sr = call.rate
    n = max(p.end for p in turns) + round(TAIL * sr)
    tracks = {role: np.zeros(n) for role in ROLES}
    for p in turns:
        tracks[p.line.speaker][p.start : p.end] += p.audio
    if call.layout == "stereo":
        bleed = 10 ** (BLEED_DB / 20)
        agent = tracks["agent"] + bleed * tracks["customer"]
        customer = tracks["customer"] + bleed * tracks["agent"]
        left, right = (agent, customer) if call.agent_channel == "left" else (customer, agent)
        x = np.stack([left, right], axis=1)
    elif call.layout == "mono":
        x = (tracks["agent"] + tracks["customer"])[:, None]
    else:
        raise GenerationError(f"{call.name}: unknown layout {call.layout!r}")
    x *= 10 ** (PEAK_DBFS / 20) / np.max(np.abs(x))
    x += pink_noise(np.random.default_rng(call.seed), x.shape) * 10 ** (NOISE_DBFS / 20)
    step = FLAC_STEP if call.container == "FLAC" else 1
    q = np.clip(np.round(x * (32767.0 / step)) * step, -32768, 32767).astype(np.int16)
    return q[:, 0] if call.layout == "mono" else q


def pink_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Unit-RMS pink (1/f) noise along axis 0 (Paul Kellet's three-pole filter)."""
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    y = lfilter(b, a, rng.standard_normal(shape), axis=0)
    return y / np.sqrt(np.mean(y**2, axis=0))


def write_audio(path: Path, call: Call, samples: np.ndarray) -> None:
    kwargs = {"compression_level": 1.0} if call.container == "FLAC" else {}
    sf.write(path, samples, call.rate, format=call.container, subtype=call.subtype, **kwargs)


def check_voices(synth: Synth) -> None:
    """Every voice must exist and sound different (espeak-ng silently ignores some
    variants, e.g. "en-gb+f3" speaks exactly like "en-gb")."""
    phrase = "This is a voice check."
    heard: dict[bytes, str] = {}
    names = sorted({v.voice for call in CALLS for v in call.voices.values()})
    for name in names + sorted({n.split("+")[0] for n in names} - set(names)):
        x, _ = synth(phrase, name, 160, 50, 100)
        key = hashlib.sha256(np.round(x * 32768).astype(np.int16).tobytes()).digest()
        if key in heard:
            raise GenerationError(f"espeak-ng voices {heard[key]!r} and {name!r} sound the same")
        heard[key] = name


def generate(out: Path, exe: str, *, verbose: bool = True) -> list[str]:
    """Write every call (audio, truth) and the manifest into ``out``; return file names."""
    out.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    with tempfile.TemporaryDirectory(prefix="make_samples_") as tmp:
        synth = Synth(exe, Path(tmp))
        check_voices(synth)
        for call in CALLS:
            placed = place_lines(call, synth)
            turns = sorted(placed, key=lambda p: (p.start, p.end, p.line.speaker))
            samples = mix(call, turns)
            truth = build_truth(call, turns, len(samples))
            write_audio(out / call.audio_name, call, samples)
            (out / f"{call.name}.truth.json").write_text(
                json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            names += [call.audio_name, f"{call.name}.truth.json"]
            if verbose:
                counts: dict[str, int] = {}
                for e in truth["events"]:
                    counts[e["kind"]] = counts.get(e["kind"], 0) + 1
                summary = ", ".join(f"{k} {counts[k]}" for k in EVENT_KINDS if k in counts)
                print(f"{call.audio_name}: {truth['duration']:.2f} s, {len(truth['turns'])} turns; {summary}")
    lines = [
        "# Written by scripts/make_samples.py; regenerate with it, do not edit.",
        f"espeak-ng: {espeak_version(exe)}",
        f"libsndfile: {sf.__libsndfile_version__}",
    ]
    for name in names:
        lines.append(f"{hashlib.sha256((out / name).read_bytes()).hexdigest()}  {name}")
    (out / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return names + [MANIFEST]


def check(out: Path, exe: str) -> int:
    """Regenerate into a temporary folder; 0 when every file equals the one in ``out``."""
    with tempfile.TemporaryDirectory(prefix="make_samples_check_") as tmp:
        fresh = Path(tmp)
        names = generate(fresh, exe, verbose=False)
        bad = []
        for name in names:
            have = out / name
            if not have.exists():
                bad.append(f"missing: {have}")
            elif have.read_bytes() != (fresh / name).read_bytes():
                bad.append(f"differs: {have}")
    if bad:
        for b in bad:
            print(b)
        print(f"{len(bad)} of {len(names)} files out of date; run: python scripts/make_samples.py --out {out}")
        return 1
    print(f"all {len(names)} files in {out} are up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: sample_audio/ at the repository root)"
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary folder and fail if any file differs from --out",
    )
    args = ap.parse_args(argv)
    try:
        exe = find_espeak()
        if args.check:
            return check(args.out, exe)
        generate(args.out, exe)
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
