"""Overlapped speech in a mono recording: where two people talk at once.

The cluster backend gives one speaker per moment, so a listener's "mm-hmm"
under the other person's sentence, or two people starting at once, is lost.
This module finds those moments with a pyannote.audio *segmentation* model,
as pyannote.audio's overlapped speech detection does: the model gives, every
17 ms of each 5 s window, the activity of up to three local speakers; the
second-highest of them is the overlap score; scores of overlapping windows are
averaged; the score is turned into regions with hysteresis (``onset`` starts a
region, ``offset`` ends it) and regions and gaps shorter than
``min_duration`` are dropped and filled.

The default model is pyannote/segmentation (Bredin & Laurent, 2021; MIT
licence), whose weights ship inside the ``whisperx`` package
(``whisperx/assets/pytorch_model.bin``); it is found without importing
whisperx. Any pyannote.audio segmentation model can be named instead (a
Hugging Face id such as ``pyannote/segmentation-3.0``, with a token, or a
local checkpoint).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import warnings
from pathlib import Path

import numpy as np

from ..bundled import package_file
from ..config import DiarizationConfig
from ..errors import ModelUnavailableError
from ..frames import mask_to_intervals

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
BLOCK_SECONDS = 600.0  # longer signals are scored a block at a time (bounded memory)
WHISPERX_ASSET = "assets/pytorch_model.bin"

_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def bundled_segmentation_path() -> Path:
    """Path of the pyannote/segmentation checkpoint that ships inside the ``whisperx`` package.

    Raises
    ------
    ModelUnavailableError
        When whisperx is not installed, or has no such file.
    """
    return package_file(
        "whisperx",
        WHISPERX_ASSET,
        missing="overlap detection: the segmentation model is not installed (it ships in the 'whisperx' package: "
        "pip install --no-deps whisperx); or set diarization.overlap to a pyannote segmentation model, or 'off'",
        broken=f"overlap detection: whisperx is installed at {{where}} but has no {WHISPERX_ASSET}; "
        "reinstall it (pip install --no-deps --force-reinstall whisperx)",
    )


@contextlib.contextmanager
def _quiet():
    """Silence the checkpoint-upgrade notices pyannote/lightning print when loading an older model."""
    loggers = [logging.getLogger(n) for n in ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning_fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lev in zip(loggers, levels):
            lg.setLevel(lev)


def load_segmentation(ref: str = "auto", token: str | None = None, device: str = "cpu"):
    """A pyannote.audio segmentation model, loaded once per process.

    Parameters
    ----------
    ref : str
        "auto" (the model shipped in whisperx), a Hugging Face model id, or a
        local checkpoint file or folder.
    token : str, optional
        Hugging Face token (gated models).
    device : str
        "cpu", "cuda" or "auto".

    Raises
    ------
    ModelUnavailableError
        The model cannot be found or loaded; the message says why and what to do.
    """
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    path = str(bundled_segmentation_path()) if ref == "auto" else ref
    key = (path, device)
    with _LOCK:
        model = _MODELS.get(key)
        if model is not None:
            return model
        local = Path(path).expanduser().exists()
        try:
            from pyannote.audio import Model
        except ImportError as exc:  # pragma: no cover - a dependency
            raise ModelUnavailableError(f"overlap detection needs pyannote.audio: {exc}") from None
        try:
            with _quiet():
                model = Model.from_pretrained(str(Path(path).expanduser()) if local else path, token=token)
        except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = (
                "check the file" if local else
                "check the model id, accept its conditions on Hugging Face, set HF_TOKEN, and run once with network access"
            )
            raise ModelUnavailableError(f"overlap detection: cannot load segmentation model {path!r} ({first[:200]}); {hint}") from None
        if model is None:
            raise ModelUnavailableError(f"overlap detection: {path!r} is not a pyannote.audio model")
        model.eval()
        model.to(torch.device(device))
        _MODELS[key] = model
        log.info("segmentation model for overlap detection loaded from %s on %s", path, device)
        return model


def overlap_scores(
    signal: np.ndarray, model, step: float = 1.0, threads: int = 1, block: float | None = None
) -> tuple[np.ndarray, float, float]:
    """Overlap score of a 16 kHz signal: the second-highest speaker activity, averaged over windows.

    A signal longer than ``block`` seconds is scored a block at a time (each with
    at least one window's worth of audio either side, its blocks aligned on both
    the window step and the model's frame grid), so memory stays bounded on long
    calls and the scores are those of one pass.

    Parameters
    ----------
    signal : np.ndarray
        1-D float32 (or float16: long calls) at 16 kHz.
    model : pyannote.audio Model
        A segmentation model (multi-label or powerset).
    step : float
        Seconds between windows.
    threads : int
        CPU threads for torch (0: torch's setting).
    block : float, optional
        Longest stretch scored in one pass, seconds (default ``BLOCK_SECONDS``).

    Returns
    -------
    (scores, start, hop)
        ``scores[i]`` is the score of the frame centred at ``start + i * hop`` seconds.
    """
    x = np.asarray(signal)  # float16 (a long call) is converted a block at a time
    block = BLOCK_SECONDS if block is None else block
    duration = float(model.specifications.duration) if not isinstance(model.specifications, tuple) else float(model.specifications[0].duration)
    hop = float(model.receptive_field.step) * SAMPLE_RATE
    step_samples = int(round(min(step, duration) * SAMPLE_RATE))
    if x.size <= block * SAMPLE_RATE or abs(hop - round(hop)) > 1e-6:
        return _one_pass(np.asarray(x, dtype=np.float32), model, step, threads, duration)
    hop_samples = int(round(hop))
    unit = math.lcm(hop_samples, step_samples)  # block starts on both grids: the same windows and frames as one pass
    margin = -(-int(duration * SAMPLE_RATE) // unit) * unit
    core = max(unit, int(block * SAMPLE_RATE) // unit * unit)
    pieces, start, frame = [], 0.0, hop / SAMPLE_RATE
    for c0 in range(0, x.size, core):
        c1 = min(x.size, c0 + core)
        s0, s1 = max(0, c0 - margin), min(x.size, c1 + margin)
        data, start, frame = _one_pass(np.asarray(x[s0:s1], dtype=np.float32), model, step, threads, duration)
        k0 = (c0 - s0) // hop_samples
        k1 = (c1 - s0) // hop_samples if c1 < x.size else data.size
        pieces.append(data[k0:k1])
    return np.concatenate(pieces), start, frame


def _one_pass(x: np.ndarray, model, step: float, threads: int, duration: float) -> tuple[np.ndarray, float, float]:
    import torch
    from pyannote.audio import Inference

    from .embedding import torch_threads

    if x.size < int(0.5 * SAMPLE_RATE):
        return np.zeros(0, dtype=np.float32), 0.0, 0.01
    if x.size < int(duration * SAMPLE_RATE):  # shorter than one window: pad with silence
        x = np.pad(x, (0, int(duration * SAMPLE_RATE) - x.size))

    def second_highest(scores: np.ndarray) -> np.ndarray:
        if scores.shape[-1] < 2:
            return np.zeros(scores.shape[:-1] + (1,), dtype=scores.dtype)
        return np.partition(scores, -2, axis=-1)[..., -2:-1]

    inference = Inference(model, step=min(step, duration), pre_aggregation_hook=second_highest, batch_size=16)
    with torch_threads(threads), _quiet():
        out = inference({"waveform": torch.from_numpy(x)[None], "sample_rate": SAMPLE_RATE})
    window = out.sliding_window
    data = np.asarray(out.data, dtype=np.float32).reshape(len(out.data), -1)[:, 0]
    data[~np.isfinite(data)] = 0.0
    return data, float(window[0].middle), float(window.step)


def hysteresis_regions(
    scores: np.ndarray, start: float, hop: float, onset: float, offset: float, min_duration: float = 0.0, end: float | None = None
) -> list[tuple[float, float]]:
    """Regions where ``scores`` rise to ``onset`` and stay above ``offset``.

    Gaps shorter than ``min_duration`` are filled, then regions shorter than it dropped.

    Returns
    -------
    list of (start, end)
        Seconds, clipped to [0, ``end``] when given.
    """
    s = np.asarray(scores, dtype=np.float32)
    on = np.zeros(s.size, dtype=bool)
    active = False
    for i, v in enumerate(s):  # a run of a few thousand frames a minute: a plain loop is fine
        if active:
            active = v >= offset
        else:
            active = v >= onset
        on[i] = active
    regions = [(start + a - hop / 2, start + b - hop / 2) for a, b in mask_to_intervals(on, hop)]
    merged: list[tuple[float, float]] = []
    for a, b in regions:
        if merged and a - merged[-1][1] < min_duration:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    out = []
    for a, b in merged:
        a, b = max(0.0, a), b if end is None else min(end, b)
        if b - a >= max(min_duration, 1e-6):
            out.append((round(a, 3), round(b, 3)))
    return out


def detect_overlaps(signal: np.ndarray, cfg: DiarizationConfig, token: str | None = None) -> list[tuple[float, float]]:
    """Regions of a 16 kHz mono signal where two or more people talk at once.

    Parameters
    ----------
    signal : np.ndarray
        1-D float32 (or float16: long calls) at 16 kHz.
    cfg : DiarizationConfig
        ``overlap`` (which model), ``overlap_onset``, ``overlap_offset``,
        ``overlap_min_duration``, ``overlap_step``, ``device``, ``threads``.
    token : str, optional
        Hugging Face token for a gated model.

    Returns
    -------
    list of (start, end)
        Seconds, in time order; empty when ``cfg.overlap`` is "off".

    Raises
    ------
    ModelUnavailableError
        The model cannot be loaded.
    """
    if cfg.overlap == "off":
        return []
    model = load_segmentation(cfg.overlap, token, cfg.device)
    scores, start, hop = overlap_scores(signal, model, cfg.overlap_step, cfg.threads)
    return hysteresis_regions(
        scores, start, hop, cfg.overlap_onset, cfg.overlap_offset, cfg.overlap_min_duration, end=len(signal) / SAMPLE_RATE
    )
