"""Language cues in the transcript: phrase patterns and meaning, per turn, with words and times.

Three detectors, all defined by the rubric (:mod:`analysis.rubric`):

pattern
    The rubric's regular expressions for the cue, matched without regard to
    case, at word boundaries, on the turn's text with apostrophes removed.
    The quote is the sentence the match is in.
semantic
    Every sentence of the turn, and every comma-separated clause of at least
    ``detection.min_words`` words, is embedded (:mod:`analysis.embeddings`) and
    compared with the cue's example phrases. It matches a cue when its cosine
    similarity with one of the cue's examples reaches the cue's threshold, is
    within ``detection.margin`` of the best example of any cue, and beats every
    counter-example (neutral phrase) by at least ``detection.margin``. Only cues
    of the speaker's role are considered.
model
    A classifier trained on labelled utterances (:mod:`analysis.cue_model`)
    gives each sentence, clause and short turn a probability per cue; a cue
    whose probability reaches ``detection.classifier_threshold`` (or the cue's
    own) is found. Paraphrase and customer repetition found this way also need
    some likeness (``detection.classifier_context``) with the customer's
    earlier words: restating or repeating needs something to restate.
context (semantic, for two cues)
    *paraphrase*: an agent sentence whose meaning restates a statement of the
    customer's previous turn (similarity >= ``detection.paraphrase.similarity``;
    customer questions are not restated, they are answered).
    *customer repetition*: a customer sentence that says again what the same
    customer said in an earlier turn (similarity >= ``detection.repetition.similarity``;
    questions excluded).

Every cue records the pattern, example or earlier sentence it matched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .records import Cue, Event, Role, Turn
from .rubric import Rubric

log = logging.getLogger(__name__)

_APOSTROPHES = "'\u2019\u2018`"
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_CLAUSE_SPLIT = re.compile(r"[,;:]\s+|\s+-\s+")
_WORD = re.compile(r"[A-Za-z0-9']+")
MAX_WHOLE_WORDS = 45  # a turn this short is also given to the classifier whole


# --- text helpers -------------------------------------------------------------------


def normalise(text: str) -> tuple[str, list[int]]:
    """Lower-case ``text`` and drop apostrophes, with the map back to the original.

    Returns
    -------
    (norm, index)
        ``index[i]`` is the position in ``text`` of ``norm[i]``; ``index[len(norm)]``
        is ``len(text)``.
    """
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in _APOSTROPHES:
            continue
        out.append(ch.lower())
        index.append(i)
    index.append(len(text))
    return "".join(out), index


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (split after . ! ?), stripped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def clause_spans(text: str, sentence: tuple[int, int], min_words: int) -> list[tuple[int, int]]:
    """Comma/semicolon-separated clauses of one sentence that have at least ``min_words`` words."""
    s0, e0 = sentence
    part = text[s0:e0]
    bounds = [0] + [m.end() for m in _CLAUSE_SPLIT.finditer(part)] + [len(part) + 1]
    out: list[tuple[int, int]] = []
    if len(bounds) <= 2:
        return out
    for a, b in zip(bounds[:-1], bounds[1:]):
        seg = part[a:b]
        seg_end = a + len(seg.rstrip(" ,;:-"))
        if n_words(part[a:seg_end]) >= min_words:
            out.append((s0 + a, s0 + seg_end))
    return out


#: A question asked after something else in the same sentence ("so it arrived damaged, how did the
#: box look when it came?"): the classifier reads the sentence as what comes first (a paraphrase, an
#: empathy statement), so a clause that opens with a question word is also read on its own (to the
#: end of its sentence), for these cues only.
_QUESTION_OPENER = re.compile(r"(?:what|what's|whats|how|how's|hows|when|where|why|which|who|tell me|talk me|walk me)\b", re.I)
QUESTION_CLAUSE_CUES = ("open_question",)


def question_clause_spans(text: str, sentences: Sequence[tuple[int, int]], min_words: int = 4) -> list[tuple[int, int]]:
    """Spans from a clause that opens with a question word to the end of its sentence (not the first clause).

    "so it arrived damaged, how did the box look when it came?" gives the span of
    "how did the box look when it came?".
    """
    out = []
    for sp in sentences:
        for a, _b in clause_spans(text, sp, 1)[1:]:
            if _QUESTION_OPENER.match(text, a) and n_words(text[a:sp[1]]) >= min_words:
                out.append((a, sp[1]))
    return out


def n_words(text: str) -> int:
    return len(_WORD.findall(text))


def is_question(text: str) -> bool:
    return text.rstrip().endswith("?")


def compile_patterns(patterns: Sequence[str]) -> list[tuple[str, re.Pattern[str]]]:
    """Compile rubric patterns: case-insensitive, never starting or ending inside a word.

    The boundary applies only where the match itself begins or ends with a word
    character, so a pattern that ends in a space or a lookahead
    (``'if youd (?!like)'``) still matches before the next word.
    """
    return [(p, re.compile(r"(?<!\w(?=\w))(?:" + p + r")(?!(?<=\w)\w)", re.IGNORECASE)) for p in patterns]


def find_patterns(text: str, patterns: Sequence[tuple[str, re.Pattern[str]]]) -> list[tuple[int, int, str]]:
    """Matches of compiled ``patterns`` in ``text`` as (start, end, pattern) in original characters."""
    norm, index = normalise(text)
    out = []
    for source, rx in patterns:
        for m in rx.finditer(norm):
            if m.end() > m.start():
                out.append((index[m.start()], index[m.end() - 1] + 1, source))
    return out


def _containing_clause(text: str, spans: list[tuple[int, int]], s: int, e: int) -> tuple[int, int]:
    """The clause(s) of ``text`` around characters [s, e): from the clause the match starts in to the one it ends in."""
    sent = next((sp for sp in spans if sp[0] <= s < sp[1]), None)
    if sent is None:
        return s, e
    cuts = [sent[0]] + [sent[0] + m.end() for m in _CLAUSE_SPLIT.finditer(text[sent[0]:sent[1]])]
    start = max(c for c in cuts if c <= s)
    end_sent = next((sp for sp in spans if sp[0] < e <= sp[1]), sent)
    ends = [end_sent[0] + m.start() for m in _CLAUSE_SPLIT.finditer(text[end_sent[0]:end_sent[1]])] + [end_sent[1]]
    end = min(c for c in ends if c >= e)
    return start, end


# --- detection ------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A cue found in one text: character span, how it was found, what it matched."""

    kind: str
    start: int
    end: int
    quote: str
    method: str
    matched: str
    similarity: float | None = None


Encoder = Callable[[Sequence[str]], np.ndarray]

#: Cues whose meaning depends on what the customer said before.
CONTEXT_CUES = ("paraphrase", "customer_repetition")


class CueDetector:
    """Find the rubric's cues in texts and turns.

    Parameters
    ----------
    rubric : Rubric
    encode : callable, optional
        Maps a list of texts to unit-length embeddings (e.g.
        ``embeddings.get_encoder().encode``). Without it only phrase patterns
        (and no paraphrase-by-meaning or repetition-by-meaning) are used.
    classifier : CueClassifier, optional
        Cue probabilities per sentence (:mod:`analysis.cue_model`); without it,
        no cue is found by the classifier.
    """

    def __init__(self, rubric: Rubric, encode: Encoder | None = None, classifier=None) -> None:
        self.rubric = rubric
        self.encode = encode
        self.classifier = classifier
        self.clauses_for_classifier = False
        self.patterns = {k: compile_patterns(rule.patterns) for k, rule in rubric.cues.items()}
        self._needs = {k: compile_patterns(rule.meaning_needs) for k, rule in rubric.cues.items() if rule.meaning_needs}
        self._openers = compile_patterns(rubric.detection.paraphrase.openers)
        self._requests = compile_patterns(rubric.detection.paraphrase.requests)
        self._bank: dict[str, tuple[np.ndarray, list[str], list[str]]] = {}
        self.repetition_model = None
        model_path = rubric.repetition_model_path()
        if encode is not None and classifier is not None and model_path is not None:
            from .repetition import RepetitionModel

            self.repetition_model = RepetitionModel.load(model_path)
        if encode is not None:
            for role in ("agent", "customer"):
                labels: list[str] = []
                texts: list[str] = []
                for kind, rule in rubric.cues.items():
                    if rule.speaker == role:
                        for ex in rule.examples:
                            labels.append(kind)
                            texts.append(ex)
                for ex in getattr(rubric.counter_examples, role):
                    labels.append("")
                    texts.append(ex)
                vecs = encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)
                self._bank[role] = (vecs, labels, texts)

    @property
    def semantic(self) -> bool:
        return self.encode is not None

    # -- one text -----------------------------------------------------------------------

    def detect_text(self, text: str, role: Role, previous_customer: Sequence[str] = ()) -> list[Match]:
        """Cues in one utterance.

        Parameters
        ----------
        text : str
        role : "agent" or "customer"
            Only cues of this speaker role are looked for.
        previous_customer : sequence of str
            For an agent: the customer's previous turn (last item is used) for
            paraphrase by meaning. For a customer: their earlier turns, for
            repetition by meaning.

        Returns
        -------
        list of Match
            Sorted by position; at most one match per cue for overlapping spans.
        """
        if role not in ("agent", "customer") or not text.strip():
            return []
        sentences = sentence_spans(text)
        found: list[Match] = []
        for kind, rule in self.rubric.cues.items():
            if rule.speaker != role:
                continue
            for s, e, pattern in find_patterns(text, self.patterns[kind]):
                qs, qe = _containing_clause(text, sentences, s, e)
                if kind == "paraphrase":  # a lead-in ("so if I understand correctly"): quote what is restated too
                    qe = max(qe, next((sp[1] for sp in sentences if sp[0] <= s < sp[1]), qe))
                found.append(Match(kind, qs, qe, text[qs:qe], "pattern", pattern))
        if self.classifier is not None:
            found.extend(self._classified(text, role, sentences, previous_customer))
        if self.encode is not None:
            found.extend(self._semantic(text, role, sentences))
            if role == "agent" and previous_customer:
                found.extend(self._restated(text, sentences, previous_customer[-1]))
            if role == "customer" and previous_customer:
                found.extend(self._repeated(text, sentences, previous_customer))
        unmet = {k for k, needs in self._needs.items() if not find_patterns(text, needs)}
        if unmet:  # e.g. an offer of a choice when nothing was refused is not an alternative
            found = [m for m in found if not (m.kind in unmet and m.method in MEANING)]
        return _dedupe(found, sentences)

    def _candidates(self, text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
        min_words = self.rubric.detection.min_words
        cands: list[tuple[int, int]] = []
        for sp in sentences:
            if n_words(text[sp[0]:sp[1]]) >= min_words:
                cands.append(sp)
            cands.extend(c for c in clause_spans(text, sp, max(min_words, 3)) if c != sp)
        return list(dict.fromkeys(cands))

    def _semantic(self, text: str, role: str, sentences: list[tuple[int, int]]) -> list[Match]:
        vecs, labels, examples = self._bank.get(role, (None, [], []))
        if vecs is None or not labels:
            return []
        cands = self._candidates(text, sentences)
        if not cands:
            return []
        sims = self.encode([text[s:e] for s, e in cands]) @ vecs.T  # type: ignore[misc]
        labels_arr = np.array(labels)
        counter = labels_arr == ""
        margin = self.rubric.detection.margin
        out: list[Match] = []
        for (s, e), row in zip(cands, sims):
            best_counter = float(row[counter].max()) if counter.any() else -1.0
            cue_rows = ~counter
            if not cue_rows.any():
                continue
            best_cue = float(row[cue_rows].max())
            for kind in dict.fromkeys(str(x) for x in labels_arr[cue_rows]):
                idx = np.flatnonzero(labels_arr == kind)
                j = idx[int(np.argmax(row[idx]))]
                sim = float(row[j])
                if sim >= self.rubric.cue_similarity(kind) and sim + margin >= best_cue and sim >= best_counter + margin:
                    out.append(Match(kind, s, e, text[s:e], "semantic", examples[j], round(sim, 3)))
        return out

    def _classified(self, text: str, role: str, sentences: list[tuple[int, int]], previous: Sequence[str]) -> list[Match]:
        """Cues the classifier finds in the sentences and clauses of ``text`` (and in ``text`` itself when short)."""
        clf = self.classifier
        cands = self._classifier_pieces(text, sentences)
        whole = (0, len(text))
        if n_words(text) <= MAX_WHOLE_WORDS and text.strip() and whole not in cands:
            cands.append(whole)
        n_read = len(cands)  # pieces read for every cue; the rest only for QUESTION_CLAUSE_CUES
        if role == "agent":
            cands.extend(c for c in question_clause_spans(text, sentences) if c not in cands)
        if not cands:
            return []
        pieces = [text[s:e] for s, e in cands]
        probs = clf.predict(pieces)
        out: list[Match] = []
        for kind, rule in self.rubric.cues.items():
            j = clf.index(kind)
            if rule.speaker != role or j is None:
                continue
            thr = self.rubric.classifier_threshold(kind)
            hits = [i for i in range(len(cands)) if probs[i, j] >= thr and (i < n_read or kind in QUESTION_CLAUSE_CUES)]
            if not hits:
                continue
            # quote the shortest piece that carries the cue
            i = min(hits, key=lambda i: (cands[i][1] - cands[i][0], -probs[i, j]))
            p = float(probs[i, j])
            note = ""
            if kind in CONTEXT_CUES:
                like, said = self._context_likeness(pieces[i], kind, previous)
                if like < self.rubric.detection.classifier_context:
                    continue
                note = f'; customer said: "{said}"'
            elif self.encode is not None:
                note = self._closest_example(pieces[i], kind)
            s, e = cands[i]
            out.append(Match(kind, s, e, pieces[i], "model", f"cue classifier, p = {p:.2f}{note}", round(p, 3)))
        return out

    def _classifier_pieces(self, text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """What the classifier reads: whole sentences (it was trained on utterances; a comma clause cut
        from its sentence loses the words that say whose fault or whose job something is)."""
        if self.clauses_for_classifier:
            return self._candidates(text, sentences)
        min_words = self.rubric.detection.min_words
        return [sp for sp in sentences if n_words(text[sp[0]:sp[1]]) >= min_words]

    def _context_likeness(self, piece: str, kind: str, previous: Sequence[str]) -> tuple[float, str]:
        """Highest similarity of ``piece`` with a sentence of the customer's earlier words, and that sentence."""
        if self.encode is None or not previous:
            return 0.0, ""
        said = previous[-1:] if kind == "paraphrase" else list(previous)
        theirs = list(dict.fromkeys(t[s:e] for t in said for s, e in sentence_spans(t)))
        if not theirs:
            return 0.0, ""
        sims = self.encode([piece]) @ self.encode(theirs).T  # type: ignore[misc]
        j = int(np.argmax(sims[0]))
        return float(sims[0, j]), theirs[j]

    def _closest_example(self, piece: str, kind: str) -> str:
        """'; closest example: "..."' for the rubric example of ``kind`` most like ``piece`` (explains a classifier match)."""
        rule = self.rubric.cues[kind]
        vecs, labels, examples = self._bank.get(rule.speaker, (None, [], []))
        idx = [i for i, lab in enumerate(labels) if lab == kind]
        if vecs is None or not idx:
            return ""
        sims = self.encode([piece]) @ vecs[idx].T  # type: ignore[misc]
        return f'; closest rubric example: "{examples[idx[int(np.argmax(sims[0]))]]}"'

    def _restated(self, text: str, sentences: list[tuple[int, int]], customer_text: str) -> list[Match]:
        rule = self.rubric.detection.paraphrase
        theirs = [customer_text[s:e] for s, e in sentence_spans(customer_text)]
        theirs = [
            t for t in theirs
            if not is_question(t) and n_words(t) >= rule.min_words and not find_patterns(t, self._requests)
        ]
        mine = [
            sp
            for sp in self._candidates(text, sentences)
            if n_words(text[sp[0]:sp[1]]) >= rule.min_words and self._opens_restatement(text[sp[0]:sp[1]])
        ]
        if not theirs or not mine:
            return []
        sims = self.encode([text[s:e] for s, e in mine]) @ self.encode(theirs).T  # type: ignore[misc]
        out = []
        for (s, e), row in zip(mine, sims):
            j = int(np.argmax(row))
            if row[j] >= rule.similarity:
                out.append(Match("paraphrase", s, e, text[s:e], "semantic", f'restates the customer: "{theirs[j]}"', round(float(row[j]), 3)))
        return out

    def _opens_restatement(self, sentence: str) -> bool:
        if not self._openers:
            return True
        norm, _ = normalise(sentence)
        return any(rx.match(norm) for _, rx in self._openers)

    def _repeated(self, text: str, sentences: list[tuple[int, int]], earlier: Sequence[str]) -> list[Match]:
        rule = self.rubric.detection.repetition
        pairs = self._repetition_pairs(text, sentences, earlier)
        if pairs is None:
            return []
        mine, before, sims = pairs
        out = []
        for (s, e), row in zip(mine, sims):
            j = int(np.argmax(row))
            if row[j] >= rule.similarity:
                out.append(Match("customer_repetition", s, e, text[s:e], "semantic", f'said before: "{before[j]}"', round(float(row[j]), 3)))
        if not out and self.repetition_model is not None:
            feats, (s, e), said = self._pair_features(text, earlier, *pairs)
            prob = self.repetition_model.probability(feats)
            if prob >= rule.model_threshold:
                out.append(Match("customer_repetition", s, e, text[s:e], "model", f'repetition model, p = {prob:.2f}; said before: "{said}"', round(prob, 3)))
        return out

    def _repetition_pairs(
        self, text: str, sentences: list[tuple[int, int]], earlier: Sequence[str]
    ) -> tuple[list[tuple[int, int]], list[str], np.ndarray] | None:
        """The statements of ``text`` and of the ``earlier`` turns (sentences and clauses, questions
        left out) and their similarities; None when either side has none."""
        rule = self.rubric.detection.repetition
        before = [t[s:e] for t in earlier for s, e in sentence_spans(t)]
        before += [t[s:e] for t in earlier for sp in sentence_spans(t) for s, e in clause_spans(t, sp, rule.min_words)]
        before = [b for b in dict.fromkeys(before) if not is_question(b) and n_words(b) >= rule.min_words]
        mine = [sp for sp in self._candidates(text, sentences) if n_words(text[sp[0]:sp[1]]) >= rule.min_words and not is_question(text[sp[0]:sp[1]])]
        if not before or not mine:
            return None
        sims = self.encode([text[s:e] for s, e in mine]) @ self.encode(before).T  # type: ignore[misc]
        return mine, before, sims

    def _pair_features(
        self, text: str, earlier: Sequence[str], mine: list[tuple[int, int]], before: list[str], sims: np.ndarray
    ) -> tuple[np.ndarray, tuple[int, int], str]:
        from .repetition import pair_features

        pieces = [text[s:e] for s, e in mine]
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        k = self.classifier.index("customer_repetition")
        p = float(self.classifier.predict(pieces + [text])[:, k].max()) if k is not None else 0.0
        whole = float((self.encode([text]) @ self.encode(list(earlier)).T).max())  # type: ignore[misc]
        return pair_features(text, earlier, float(sims[i, j]), whole, p, pieces[i], before[j]), mine[i], before[j]

    def repetition_features(self, text: str, earlier: Sequence[str]) -> tuple[np.ndarray, tuple[int, int], str] | None:
        """The repetition model's features (:func:`analysis.repetition.pair_features`) of a customer turn.

        Parameters
        ----------
        text : str
            What the customer says now.
        earlier : sequence of str
            Their earlier turns in the call.

        Returns
        -------
        (features, span, said) or None
            The feature vector, the span of ``text`` most like what was said before, and that
            earlier sentence; None without an encoder and classifier, or without a statement to compare.
        """
        if self.encode is None or self.classifier is None or not earlier:
            return None
        pairs = self._repetition_pairs(text, sentence_spans(text), earlier)
        return None if pairs is None else self._pair_features(text, earlier, *pairs)

    # -- a call -----------------------------------------------------------------------------

    def detect(self, turns: Sequence[Turn], role_of: Callable[[str], Role]) -> list[Cue]:
        """Cues of every turn of a call, with the times of the words that matched.

        Parameters
        ----------
        turns : sequence of Turn
            In time order (as in :attr:`CallReport.turns`).
        role_of : callable
            Speaker label -> role; turns of speakers with role "unknown" are skipped.

        Returns
        -------
        list of Cue
            In time order.
        """
        self._prefetch(turns, role_of)
        cues: list[Cue] = []
        customer_turns: list[Turn] = []
        min_para = self.rubric.detection.paraphrase.min_words
        for i, turn in enumerate(turns):
            role = role_of(turn.speaker)
            if role == "agent":
                prev = [t.text for t in customer_turns if t.start < turn.start and n_words(t.text) >= min_para][-1:]
            elif role == "customer":
                prev = [t.text for t in customer_turns if t.end <= turn.start + 0.5]
            else:
                continue
            for m in self.detect_text(turn.text, role, prev):
                start, end = span_times(turn, m.start, m.end)
                cues.append(
                    Cue(
                        kind=m.kind,
                        speaker=turn.speaker,
                        turn=i,
                        start=start,
                        end=end,
                        quote=m.quote,
                        method=m.method,  # type: ignore[arg-type]
                        matched=m.matched,
                        similarity=m.similarity,
                    )
                )
            if role == "customer":
                customer_turns.append(turn)
        cues.sort(key=lambda c: (c.start, c.turn, c.kind))
        return cues


    def prefetch(self, texts: Sequence[str], roles: Sequence[Role] | None = None) -> None:
        """Embed, in one batch, every piece of ``texts`` that detection will compare.

        The encoder caches vectors, so later detection on these texts needs no
        more model calls; batching makes it many times faster than embedding
        one utterance at a time. A no-op without an encoder.

        Parameters
        ----------
        texts : sequence of str
        roles : sequence of "agent" / "customer", optional
            The speaker of each text. An agent's text is only compared by its
            candidate sentences and clauses; a customer's also by its sentences
            and repetition clauses (what later customer turns and the agent's
            restatements are compared with). Without roles, all of them.
        """
        if self.classifier is not None:
            whole = [t for t in texts if t.strip() and n_words(t) <= MAX_WHOLE_WORDS]
            cands = [t[s:e] for t in texts for s, e in self._classifier_pieces(t, sentence_spans(t))]
            self.classifier.predict(list(dict.fromkeys(cands + whole)))
        if self.encode is None:
            return
        pieces: list[str] = []
        rep_words = self.rubric.detection.repetition.min_words
        for i, text in enumerate(texts):
            sentences = sentence_spans(text)
            pieces.extend(text[s:e] for s, e in self._candidates(text, sentences))
            if roles is not None and roles[i] == "agent":
                continue
            pieces.extend(text[s:e] for s, e in sentences)
            for sp in sentences:
                pieces.extend(text[s:e] for s, e in clause_spans(text, sp, rep_words))
        if pieces:
            self.encode(list(dict.fromkeys(pieces)))

    def _prefetch(self, turns: Sequence[Turn], role_of: Callable[[str], Role]) -> None:
        kept = [(t.text, role_of(t.speaker)) for t in turns if role_of(t.speaker) in ("agent", "customer")]
        self.prefetch([t for t, _ in kept], [r for _, r in kept])


#: Cues that contradict each other: in one sentence, a phrase match of one overrules a meaning-only
#: match of the other.
OPPOSITES: dict[str, tuple[str, ...]] = {
    "apology_sincere": ("non_apology", "blame"),
    "non_apology": ("apology_sincere",),
    "blame": ("apology_sincere", "acknowledgement", "empathy"),
    "acknowledgement": ("blame",),
    "empathy": ("blame",),
    "ownership": ("policy_hiding",),
    "policy_hiding": ("ownership",),
    "hold_permission": ("hold_thanks",),
    "hold_thanks": ("hold_permission",),
}


#: Methods that find a cue by meaning (not by an explicit phrase).
MEANING = ("semantic", "model")


def _dedupe(found: list[Match], sentences: Sequence[tuple[int, int]] = ()) -> list[Match]:
    """One match per cue kind for overlapping spans: patterns first, then the most similar.

    ``sentences`` (character spans of the text) widen the non-apology rule from the
    matched words to their sentence.
    """
    rank = {"pattern": 0, "rule": 1, "model": 2, "semantic": 3}
    ordered = sorted(found, key=lambda m: (rank.get(m.method, 3), -(m.similarity or 0.0), m.start))
    kept: list[Match] = []
    for m in ordered:
        if any(k.kind == m.kind and k.start < m.end and m.start < k.end for k in kept):
            continue
        kept.append(m)
    # a restatement of the customer's problem is a paraphrase; its content words do not also make it
    # another cue by meaning (only an explicit phrase does), but a question the agent asks after it
    # ("so it arrived damaged, how did the box look?") is the agent's own
    restated = [k for k in kept if k.kind == "paraphrase"]

    def asked_after(k: Match, p: Match) -> bool:
        return k.kind in QUESTION_CLAUSE_CUES and k.start > p.start and _QUESTION_OPENER.match(k.quote) is not None

    kept = [
        k for k in kept
        if not (
            k.method in MEANING
            and k.kind != "paraphrase"
            and any(p.start <= k.start and k.end <= p.end and not asked_after(k, p) for p in restated)
        )
    ]
    def sentence_of(m: Match) -> tuple[int, int]:
        return next(((a, b) for a, b in sentences if a <= m.start < b), (m.start, m.end))

    def same_sentence(a: Match, b: Match) -> bool:
        sa, sb = sentence_of(a), sentence_of(b)
        return sa[0] < sb[1] and sb[0] < sa[1]

    # a cue matched by an explicit phrase outranks its opposite matched only by meaning in the same
    # sentence ("I'm sorry about that" is not also "sorry you feel that way" because they embed alike)
    phrased = [k for k in kept if k.method in ("pattern", "rule")]
    kept = [
        k for k in kept
        if not (k.method in MEANING and any(p.kind in OPPOSITES.get(k.kind, ()) and same_sentence(k, p) for p in phrased))
    ]
    # hiding behind policy is a refusal that offers nothing: a refusal that comes with another way in the
    # same sentence ("I can't refund it, but what I can do is ...") is an alternative, not policy hiding
    alternatives = [k for k in kept if k.kind == "alternatives"]
    kept = [
        k for k in kept
        if not (k.kind == "policy_hiding" and k.method in MEANING and any(same_sentence(k, a) for a in alternatives))
    ]
    # an apology is sincere or not: a non-apology wins over a sincere apology in the same sentence
    # ("if anything I said came across badly, sorry about that")
    nons = [sentence_of(k) for k in kept if k.kind == "non_apology"]
    kept = [
        k for k in kept
        if not (k.kind == "apology_sincere" and any(a < sentence_of(k)[1] and sentence_of(k)[0] < b for a, b in nons))
    ]
    kept.sort(key=lambda m: (m.start, m.kind))
    return kept


def word_offsets(turn: Turn) -> list[tuple[int, int]]:
    """Character span of each of ``turn.words`` in ``turn.text`` ((-1, -1) when not found)."""
    out: list[tuple[int, int]] = []
    pos = 0
    for w in turn.words:
        token = w.text.strip()
        k = turn.text.find(token, pos) if token else -1
        if k < 0:
            out.append((-1, -1))
            continue
        out.append((k, k + len(token)))
        pos = k + len(token)
    return out


def span_times(turn: Turn, start: int, end: int) -> tuple[float, float]:
    """Start and end time of the words of ``turn`` covering characters [start, end)."""
    hits = [w for w, (s, e) in zip(turn.words, word_offsets(turn)) if s >= 0 and s < end and e > start]
    if not hits:
        return turn.start, turn.end
    return round(hits[0].start, 3), round(max(w.end for w in hits), 3)


def rule_cues(
    turns: Sequence[Turn],
    events: Sequence[Event],
    cues: Sequence[Cue],
    role_of: Callable[[str], Role],
    rubric: Rubric,
) -> list[Cue]:
    """Cues that follow from the call's structure, not from the words alone (method "rule").

    hold_thanks
        The agent's first sentence after a hold (an event of a kind in
        ``events.hold``, within ``events.hold_thanks_after`` seconds) contains one
        of ``events.hold_thanks_words``, and no hold_thanks cue was found there.
    customer_repetition
        A customer asks for a manager again: a manager_request cue of a customer
        who already asked in an earlier turn.

    Returns
    -------
    list of Cue
        Only the new cues.
    """
    out: list[Cue] = []
    ev_cfg = rubric.events
    words = [w.lower() for w in ev_cfg.hold_thanks_words]
    for h in (e for e in events if e.kind in ev_cfg.hold):
        after = [
            (i, t) for i, t in enumerate(turns)
            if role_of(t.speaker) == "agent" and h.end - 0.5 <= t.start <= h.end + ev_cfg.hold_thanks_after
        ]
        if not after:
            continue
        i, turn = after[0]
        if any(c.kind == "hold_thanks" and c.turn == i for c in cues):
            continue
        spans = sentence_spans(turn.text)
        if not spans:
            continue
        s, e = spans[0]
        first = turn.text[s:e]
        norm, _ = normalise(first)
        hit = next((w for w in words if re.search(r"(?<!\w)" + re.escape(w.replace("'", "")) + r"(?!\w)", norm)), None)
        if hit is None:
            continue
        start, end = span_times(turn, s, e)
        out.append(Cue(kind="hold_thanks", speaker=turn.speaker, turn=i, start=start, end=end, quote=first, method="rule",
                       matched=f'first words after the hold ending at {h.end:.1f} s contain "{hit}"'))
    asked: dict[str, Cue] = {}
    for c in sorted(cues, key=lambda c: c.start):
        if c.kind != "manager_request" or role_of(c.speaker) != "customer":
            continue
        first = asked.get(c.speaker)
        if first is not None and first.turn != c.turn:
            if not any(r.kind == "customer_repetition" and r.turn == c.turn for r in cues):
                out.append(c.model_copy(update={"kind": "customer_repetition", "method": "rule", "similarity": None,
                                                "matched": f'asked for a manager before, at {first.start:.1f} s: "{first.quote}"'}))
        else:
            asked.setdefault(c.speaker, c)
    return out
