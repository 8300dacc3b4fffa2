"""Which speaker is the agent: configured, or decided from what they say.

Content evidence, each adding to a speaker's agent score:

* speaking first (the agent answers the call): +1;
* an agent phrase ("thank you for calling", "how can I help", "my name is"...)
  in the speaker's first turns: +1.5 each, elsewhere +0.5 each;
* a configured company name: +2;
* a customer phrase ("I'm calling about", "my bill"...): -1 each.

The agent is the speaker with the higher score; the confidence is the logistic
of the score difference (0.5 when nothing tells them apart).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .config import RolesConfig
from .records import RoleDecision, Speaker, Turn

OPENING_TURNS = 3


def _norm(text: str) -> str:
    text = text.lower().replace("’", "'")
    return " " + re.sub(r"[^a-z0-9' ]+", " ", text).strip() + " "


def _count(phrase: str, text: str) -> int:
    return text.count(" " + _norm(phrase).strip() + " ")


def decide_roles(
    speakers: Sequence[Speaker],
    turns: Sequence[Turn],
    cfg: RolesConfig,
    channel_of_agent: int | None = None,
) -> tuple[list[Speaker], RoleDecision]:
    """Label speakers agent/customer.

    Parameters
    ----------
    speakers : sequence of Speaker
    turns : sequence of Turn
        Sorted by start.
    cfg : RolesConfig
    channel_of_agent : int, optional
        The agent's channel when configured (dual-channel calls).

    Returns
    -------
    (speakers, decision)
        Speakers with roles set, and how the roles were decided.
    """
    labels = [s.label for s in speakers]
    if channel_of_agent is not None:
        agent = next((s.label for s in speakers if s.channel == channel_of_agent), None)
        if agent is not None:
            decision = RoleDecision(
                method="configured", confidence=1.0, agent=agent, reasons=[f"agent channel configured ({agent})"]
            )
            return _apply(speakers, agent), decision

    talking = [lab for lab in labels if any(t.speaker == lab for t in turns)]
    if len(talking) < 2:
        decision = RoleDecision(
            method="none",
            confidence=0.0,
            agent=None,
            reasons=["fewer than two speakers talk: roles cannot be told apart"],
        )
        return [s.model_copy(update={"role": "unknown"}) for s in speakers], decision

    score = {lab: 0.0 for lab in talking}
    reasons: dict[str, list[str]] = {lab: [] for lab in talking}
    first = next(t.speaker for t in turns if t.speaker in score)
    score[first] += 1.0
    reasons[first].append("speaks first")
    seen: dict[str, int] = {lab: 0 for lab in talking}
    for t in turns:
        if t.speaker not in score:
            continue
        seen[t.speaker] += 1
        opening = seen[t.speaker] <= OPENING_TURNS
        text = _norm(t.text)
        for phrase in cfg.agent_phrases:
            n = _count(phrase, text)
            if n:
                score[t.speaker] += (1.5 if opening else 0.5) * n
                reasons[t.speaker].append(f'says "{phrase}" at {t.start:.1f} s')
        for name in cfg.company_names:
            if _count(name, text):
                score[t.speaker] += 2.0
                reasons[t.speaker].append(f'names the company "{name}" at {t.start:.1f} s')
        for phrase in cfg.customer_phrases:
            n = _count(phrase, text)
            if n:
                score[t.speaker] -= 1.0 * n
                reasons[t.speaker].append(f'says customer phrase "{phrase}" at {t.start:.1f} s')

    ranked = sorted(talking, key=lambda lab: (-score[lab], labels.index(lab)))
    agent, runner_up = ranked[0], ranked[1]
    diff = score[agent] - score[runner_up]
    confidence = 1.0 / (1.0 + math.exp(-diff))
    why = [f"{agent}: " + "; ".join(reasons[agent][:6])] if reasons[agent] else []
    if reasons[runner_up]:
        why.append(f"{runner_up}: " + "; ".join(reasons[runner_up][:6]))
    why.append(f"agent score {score[agent]:.1f} vs {score[runner_up]:.1f}")
    decision = RoleDecision(method="content", confidence=round(confidence, 3), agent=agent, reasons=why)
    return _apply(speakers, agent), decision


def _apply(speakers: Sequence[Speaker], agent: str) -> list[Speaker]:
    return [s.model_copy(update={"role": "agent" if s.label == agent else "customer"}) for s in speakers]
