"""Plain-language labels, explanations and colours shared by every page and export.

One place decides how things are called and coloured, so the agent is the same
blue on the timeline, in the transcript, in the printable report and in the
coaching sheet.
"""

from __future__ import annotations

import math
import re

SCORES: tuple[str, ...] = ("calm_tone", "active_listening", "empathy", "deescalation")
"""Score names as reports and the catalog spell them, in display order."""

SCORE_LABELS: dict[str, str] = {
    "calm_tone": "Calm tone",
    "active_listening": "Active listening",
    "empathy": "Empathy",
    "deescalation": "De-escalation",
}

SCORE_HELP: dict[str, str] = {
    "calm_tone": (
        "How steady the agent's voice stayed. It combines how much the agent's pitch moved around, "
        "whether they raised their voice, whether they spoke too fast or too slow, and whether their voice "
        "rose after the customer got upset. 100 = steady throughout; each raised-voice moment costs points."
    ),
    "active_listening": (
        "Whether the agent let the customer speak and showed they understood. It counts the agent talking over "
        "the customer, short 'mm-hmm / I see' signals while the customer talks, how quickly the agent replied, "
        "the agent's share of the talking, questions and paraphrases, and whether the customer had to repeat themself."
    ),
    "empathy": (
        "Whether the agent acknowledged the customer's feelings and took ownership. It looks for acknowledgements "
        "and sincere apologies, 'I will sort this out' statements, alternatives when saying no, good hold manners, "
        "and takes points off for hiding behind policy or blaming the customer."
    ),
    "deescalation": (
        "An outcome, not a behaviour: did the customer sound calmer at the end than at the start? It compares the "
        "customer's loudness, pitch and word sentiment in the first and last third of the call, and whether they "
        "thanked the agent or asked for a manager late in the call. Not scored for very short calls."
    ),
}

SCORE_SCALE_NOTE = (
    "Each score is 0-100: a weighted average of its parts (the table below). Every part has a measured value, "
    "a sub-score 0-100 and a weight; the moments that moved it are in the evidence list."
)

COMPONENT_LABELS: dict[str, str] = {
    # calm tone
    "pitch_steadiness": "Steady pitch",
    "volume_control": "No raised voice",
    "pace": "Speaking pace",
    "composure_loudness": "Volume stayed level when the customer got upset",
    "composure_pitch": "Pitch stayed level when the customer got upset",
    # active listening
    "interruptions": "Did not talk over the customer",
    "backchannels": "Listening signals ('mm-hmm', 'I see')",
    "latency": "Reply speed",
    "talk_share": "Share of the talking",
    "understanding": "Questions and paraphrases",
    "customer_repetition": "Customer did not have to repeat themself",
    "closing_loop": "Closed the loop",
    # empathy
    "acknowledgement": "Acknowledged feelings",
    "apology_quality": "Sincere apologies",
    "ownership": "Took ownership",
    "policy_blame": "No hiding behind policy or blame",
    "alternatives": "Offered alternatives",
    "hold_etiquette": "Hold manners",
    # de-escalation
    "loudness": "Customer got quieter",
    "pitch": "Customer's pitch came down",
    "sentiment": "Customer's words got more positive",
    "customer_language": "Customer thanked rather than escalated",
}

EVENT_LABELS: dict[str, str] = {
    "overlap": "Both talking",
    "interruption": "Interruption",
    "backchannel": "Listening signal",
    "silence": "Silence",
    "dead_air": "Dead air",
    "hold": "Hold",
    "pitch_rise": "Pitch rise",
    "raised_voice": "Raised voice",
    "fast_speech": "Fast speech",
}

FLAG_LABELS: dict[str, str] = {
    "interruptions": "Agent interrupted",
    "raised_voice": "Agent raised voice",
    "dead_air": "Dead air",
    "escalation_asked": "Manager requested",
}
FLAG_HELP: dict[str, str] = {
    "interruptions": "The agent started talking while the customer was still speaking and cut them off.",
    "raised_voice": "The agent's voice got clearly louder than their own usual level for a second or more.",
    "dead_air": "A long silence (5 s or more) that the agent did not announce as a hold.",
    "escalation_asked": "The customer asked to speak to a manager or supervisor.",
}

ROLE_LABELS: dict[str, str] = {"agent": "Agent", "customer": "Customer", "unknown": "Speaker"}

# Colours: colour-blind-safe (Okabe-Ito), the same everywhere.
ROLE_COLOURS: dict[str, str] = {"agent": "#0072B2", "customer": "#E69F00", "unknown": "#7F7F7F"}
EVENT_COLOURS: dict[str, str] = {
    "overlap": "#CC79A7",
    "interruption": "#D55E00",
    "silence": "#D9D9D9",
    "dead_air": "#8C8C8C",
    "hold": "#56B4E9",
    "raised_voice": "#C0392B",
    "pitch_rise": "#9B59B6",
    "fast_speech": "#009E73",
    "backchannel": "#F0E442",
}
EFFECT_COLOURS: dict[str, str] = {"positive": "#1B9E77", "negative": "#D95F02", "neutral": "#7F7F7F"}
EFFECT_LABELS: dict[str, str] = {"positive": "helped", "negative": "hurt", "neutral": "noted"}
EFFECT_ICONS: dict[str, str] = {"positive": "✅", "negative": "⚠️", "neutral": "•"}


def score_label(name: str) -> str:
    """Plain label of a score name (the name itself, tidied, when unknown)."""
    return SCORE_LABELS.get(name, name.replace("_", " ").capitalize())


def component_label(name: str) -> str:
    """Plain label of a score component."""
    return COMPONENT_LABELS.get(name, name.replace("_", " ").capitalize())


def event_label(kind: str) -> str:
    """Plain label of an event kind."""
    return EVENT_LABELS.get(kind, kind.replace("_", " ").capitalize())


def role_colour(role: str | None) -> str:
    """Colour of a role (agent, customer, unknown)."""
    return ROLE_COLOURS.get(role or "unknown", ROLE_COLOURS["unknown"])


def speaker_name(role: str | None, label: str | None) -> str:
    """What to call a speaker: 'Agent', 'Customer', or 'Speaker S0' when the role is unknown."""
    if role in ("agent", "customer"):
        return ROLE_LABELS[role]
    return f"Speaker {label}" if label else "Speaker"


def fmt_time(seconds: float | None) -> str:
    """Seconds as m:ss (h:mm:ss past an hour); '' for None."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_score(value: float | None) -> str:
    """A score for display: whole number, or 'not scored'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not scored"
    return f"{value:.0f}"


def fmt_value(value: float | None, unit: str = "") -> str:
    """A measured value with its unit, compactly."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.2g}" if abs(value) < 1 else f"{value:.1f}"
    if unit in ("", "count"):
        return text
    if unit in ("share", "fraction", "ratio"):
        return f"{value * 100:.0f}%"
    return f"{text} {unit}"


_PATTERN_NOTE = re.compile(r"\s*\(pattern: .*\)\s*$")


def plain_why(text: str | None) -> str:
    """An evidence 'why' without the regular expression that matched (kept in the JSON report)."""
    return _PATTERN_NOTE.sub("", text or "")
