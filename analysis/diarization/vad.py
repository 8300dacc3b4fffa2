"""Voice activity for diarisation: Silero VAD (shipped with faster-whisper), grown over soft speech.

Silero's speech probability is computed on 32 ms frames of a 16 kHz signal and
thresholded with hysteresis (speech starts at ``onset``, goes on until the
probability falls below ``offset``). On quiet far-field recordings Silero hears
the loud syllables of an utterance but not its soft edges and pauses; each
detected stretch is therefore grown over the adjacent frames whose energy is
``grow_db`` or more above the recording's noise floor (10th percentile of the
frame levels). Frames loud enough but far from any Silero speech (noise,
music) are not added.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

log = logging.getLogger(__name__)

VAD_RATE = 16000
VAD_FRAME = 512  # samples per Silero frame at 16 kHz
VAD_CONTEXT = 64  # samples of the previous frame Silero sees before each frame
BLOCK_FRAMES = 2000  # frames per Silero call (64 s): bounds its working memory on long calls
FRAME_SECONDS = VAD_FRAME / VAD_RATE
SILENT_DB = -100.0  # frames at or below this are digital silence, not the noise floor
LOWEST_SPEECH_DB = -75.0  # growing never adds frames quieter than this (dBFS)


@dataclass(frozen=True)
class SpeechFrames:
    """Frame-level voice activity of one signal.

    Attributes
    ----------
    speech : np.ndarray
        bool per 32 ms frame.
    frame : float
        Frame length, seconds.
    duration : float
        Length of the signal, seconds.
    """

    speech: np.ndarray
    frame: float
    duration: float

    def regions(self, bridge: float, pad: float = 0.0, min_duration: float = 0.0) -> list[tuple[float, float]]:
        """Speech regions: runs of speech frames, pauses up to ``bridge`` seconds bridged.

        Regions shorter than ``min_duration`` are dropped; the rest are widened by
        ``pad`` on each side (within the signal; widened neighbours are merged).
        """
        return mask_to_regions(self.speech, self.frame, self.duration, bridge, pad, min_duration)


def speech_probabilities(signal: np.ndarray) -> np.ndarray:
    """Silero speech probability of each 32 ms frame of a 16 kHz mono signal.

    Parameters
    ----------
    signal : np.ndarray
        1-D float32 (or float16: long calls) at 16 kHz.

    Returns
    -------
    np.ndarray
        float32, one value per frame (the last frame zero-padded).
    """
    from faster_whisper.vad import get_vad_model

    x = np.asarray(signal)  # float16 (a long call) is converted a block at a time
    if x.size == 0:
        return np.zeros(0, dtype=np.float32)
    session = get_vad_model().session
    # As faster-whisper's SileroVADModel.__call__ (each frame preceded by the last 64
    # samples of the one before; recurrent state carried from batch to batch), but
    # one block of frames at a time, so a long call never holds more than one block.
    n_frames = -(-x.size // VAD_FRAME)
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    tail = np.zeros(VAD_CONTEXT, dtype=np.float32)
    out = []
    for f0 in range(0, n_frames, BLOCK_FRAMES):
        f1 = min(n_frames, f0 + BLOCK_FRAMES)
        block = np.asarray(x[f0 * VAD_FRAME : f1 * VAD_FRAME], dtype=np.float32)
        if block.size < (f1 - f0) * VAD_FRAME:
            block = np.pad(block, (0, (f1 - f0) * VAD_FRAME - block.size))
        frames = block.reshape(-1, VAD_FRAME)
        context = np.empty((frames.shape[0], VAD_CONTEXT), dtype=np.float32)
        context[0] = tail
        context[1:] = frames[:-1, -VAD_CONTEXT:]
        tail = frames[-1, -VAD_CONTEXT:].copy()
        prob, h, c = session.run(None, {"input": np.concatenate([context, frames], axis=1), "h": h, "c": c})
        out.append(np.asarray(prob, dtype=np.float32).reshape(-1))
    return np.concatenate(out)


def frame_levels(signal: np.ndarray, frame: int = VAD_FRAME) -> np.ndarray:
    """Energy of each frame in dBFS (non-overlapping frames of ``frame`` samples, last one zero-padded)."""
    x = np.asarray(signal)
    n = -(-x.size // frame)
    out = np.empty(n, dtype=np.float32)
    for f0 in range(0, n, BLOCK_FRAMES):  # block by block: a float64 copy of a 3-hour call would take GBs
        blk = np.asarray(x[f0 * frame : (f0 + BLOCK_FRAMES) * frame], dtype=np.float64)
        pad = (-blk.size) % frame
        if pad:
            blk = np.pad(blk, (0, pad))
        fr = blk.reshape(-1, frame)
        out[f0 : f0 + fr.shape[0]] = 10.0 * np.log10(np.mean(fr * fr, axis=1) + 1e-12)
    return out


def hysteresis(prob: np.ndarray, onset: float, offset: float) -> np.ndarray:
    """Frames in runs where ``prob >= offset`` throughout and ``prob >= onset`` somewhere."""
    low = prob >= min(onset, offset)
    labels, n = ndimage.label(low)
    if n == 0:
        return np.zeros(prob.shape, dtype=bool)
    seeded = np.zeros(n + 1, dtype=bool)
    seeded[np.unique(labels[prob >= onset])] = True
    seeded[0] = False
    return seeded[labels]


def grow_over_soft_speech(speech: np.ndarray, levels: np.ndarray, grow_db: float) -> np.ndarray:
    """Extend speech over adjacent frames at least ``grow_db`` above the noise floor.

    The noise floor is the 10th percentile of the frame levels that are not digital
    silence. A contiguous stretch of loud-enough frames (single-frame dips allowed)
    is added when it touches detected speech.
    """
    if grow_db <= 0 or speech.size == 0 or not speech.any():
        return speech
    real = levels[levels > SILENT_DB]
    if real.size == 0:
        return speech
    floor = float(np.percentile(real, 10))
    loud = levels > max(floor + grow_db, LOWEST_SPEECH_DB)
    loud = ndimage.binary_closing(loud, structure=np.ones(3, dtype=bool)) | loud
    labels, n = ndimage.label(loud | speech)
    if n == 0:
        return speech
    touched = np.zeros(n + 1, dtype=bool)
    touched[np.unique(labels[speech])] = True
    touched[0] = False
    return touched[labels] | speech


def detect_speech(
    signal: np.ndarray,
    onset: float = 0.5,
    offset: float = 0.25,
    grow_db: float = 10.0,
) -> SpeechFrames:
    """Frame-level voice activity of a 16 kHz mono signal.

    Parameters
    ----------
    signal : np.ndarray
        1-D float32 (or float16: long calls) at 16 kHz.
    onset, offset : float
        Hysteresis thresholds on the Silero speech probability.
    grow_db : float
        Soft speech next to detected speech: frames this far above the noise floor
        (0: off).

    Returns
    -------
    SpeechFrames
    """
    prob = speech_probabilities(signal)
    speech = hysteresis(prob, onset, offset)
    if grow_db > 0:
        speech = grow_over_soft_speech(speech, frame_levels(signal)[: speech.size], grow_db)
    log.debug("voice activity: %.1f s of speech in %.1f s", speech.sum() * FRAME_SECONDS, signal.size / VAD_RATE)
    return SpeechFrames(speech=speech, frame=FRAME_SECONDS, duration=signal.size / VAD_RATE)


def mask_to_regions(
    mask: np.ndarray, frame: float, duration: float, bridge: float = 0.0, pad: float = 0.0, min_duration: float = 0.0
) -> list[tuple[float, float]]:
    """Runs of True frames as (start, end) seconds; see :meth:`SpeechFrames.regions`."""
    if mask.size == 0 or not mask.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    merged: list[list[float]] = []
    for s, e in zip(edges[::2], edges[1::2]):
        start, end = s * frame, e * frame
        if merged and start - merged[-1][1] <= bridge + 1e-9:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    out: list[tuple[float, float]] = []
    for start, end in merged:
        if end - start < min_duration:
            continue
        start, end = max(0.0, start - pad), min(duration, end + pad)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
