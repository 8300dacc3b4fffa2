"""The offline diarisation backend: voice activity, speaker embeddings, spectral clustering, smoothing.

Steps
-----
1. Voice activity (:mod:`.vad`): Silero frames, grown over soft speech; speech
   regions with short pauses bridged.
2. Long windows (``window`` s every ``window_step`` s) inside speech regions are
   embedded with GE2E (:mod:`.embedding`).
3. Spectral clustering of the windows' cosine affinities, each row pruned to its
   strongest neighbours (plain average-linkage agglomerative clustering puts
   nearly everything in one cluster on telephone audio; this does not). Two
   speakers by default; with ``speakers = "auto"`` the count is the largest
   eigengap of the graph Laplacian within ``min_speakers..max_speakers``.
4. Each 50 ms frame gets a score per speaker: the cosine similarity of the
   windows covering it to the speaker's centroid, long windows mixed with their
   first ``short_window`` seconds (read from the same LSTM pass), which place
   changes more precisely.
5. Smoothing: a Viterbi path over the frames with a cost ``switch_penalty`` per
   change of speaker inside speech removes short flips; a change in a pause is free.
6. Overlap: where the speaker changes inside continuous speech, both speakers
   are kept for ``overlap_seam`` seconds on either side. Where it changes across a
   bridged pause, the pause belongs to nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config import DiarizationConfig
from .embedding import load_encoder, mel_power, torch_threads
from .vad import VAD_RATE, detect_speech, mask_to_regions

log = logging.getLogger(__name__)

FRAME = 0.05  # seconds, resolution of the output
SCORE_SCALE = 10.0  # cosine similarity -> log-likelihood units per frame
SHORT_WEIGHT = 0.5  # weight of the short windows' scores where they exist
NEIGHBOURS = 0.2  # affinity pruning: each row keeps this share of its strongest neighbours
MAX_CLUSTERED = 2000  # windows clustered at most (more are assigned to the nearest centroid)
RAW_BRIDGE = 0.2  # pauses bridged in the speech the short windows cover, seconds
RAW_PAD = 0.05


@dataclass(frozen=True)
class ClusterResult:
    """Output of :func:`cluster_diarize`: ``(start, end, label)`` segments (may overlap) and notes."""

    segments: list[tuple[float, float, str]]
    num_speakers: int
    speech_seconds: float
    warnings: list[str]


def sliding_windows(regions: Sequence[tuple[float, float]], length: float, step: float) -> list[tuple[float, float]]:
    """Windows of ``length`` s every ~``step`` s covering each region; a shorter region is one window."""
    out: list[tuple[float, float]] = []
    for s, e in regions:
        if e - s <= length:
            out.append((s, e))
            continue
        n = int(np.ceil((e - s - length) / step)) + 1
        out.extend((float(a), float(a) + length) for a in np.linspace(s, e - length, n))
    return out


def frame_scores(windows: Sequence[tuple[float, float]], sims: np.ndarray, n_frames: int, frame: float = FRAME) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame speaker scores: Hann-weighted mean of the similarities of the windows covering each frame.

    Returns
    -------
    (scores, covered)
        (n_frames, k) scores and a bool mask of frames covered by some window.
    """
    k = sims.shape[1] if sims.ndim == 2 else 0
    acc = np.zeros((n_frames, k))
    weight = np.zeros(n_frames)
    for (s, e), sim in zip(windows, sims):
        i0 = max(0, int(round(s / frame)))
        i1 = min(n_frames, max(i0 + 1, int(round(e / frame))))
        n = i1 - i0
        if n <= 0:
            continue
        w = np.hanning(n + 2)[1:-1] if n > 2 else np.ones(n)
        acc[i0:i1] += w[:, None] * sim[None, :]
        weight[i0:i1] += w
    covered = weight > 0
    acc[covered] /= weight[covered, None]
    return acc, covered


def affinity(emb: np.ndarray, neighbours: float = NEIGHBOURS) -> np.ndarray:
    """Cosine affinity of unit vectors, each row pruned to its strongest ``neighbours`` share, symmetrised."""
    a = np.clip(emb @ emb.T, 0.0, None)
    n = a.shape[0]
    keep = int(min(n, max(2, round(neighbours * n))))
    if keep < n:
        thresh = np.partition(a, n - keep, axis=1)[:, n - keep][:, None]
        a = np.where(a >= thresh, a, 0.0)
    return 0.5 * (a + a.T)


def laplacian_eigen(aff: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` smallest eigenvalues and eigenvectors of the normalised graph Laplacian."""
    from scipy.linalg import eigh

    d = aff.sum(axis=1)
    inv = 1.0 / np.sqrt(np.maximum(d, 1e-10))
    lap = np.eye(aff.shape[0]) - inv[:, None] * aff * inv[None, :]
    count = min(count, aff.shape[0])
    vals, vecs = eigh(lap, subset_by_index=[0, count - 1])
    return vals, vecs


def estimate_speakers(eigenvalues: np.ndarray, min_speakers: int, max_speakers: int) -> int:
    """Number of clusters with the largest eigengap ``lambda[k] - lambda[k-1]`` within the bounds."""
    hi = min(max_speakers, len(eigenvalues) - 1)
    if hi < min_speakers:
        return max(1, min(min_speakers, len(eigenvalues)))
    gaps = np.diff(eigenvalues)  # gaps[k-1] = lambda[k] - lambda[k-1]
    ks = np.arange(min_speakers, hi + 1)
    return int(ks[np.argmax(gaps[ks - 1])])


def spectral_labels(emb: np.ndarray, speakers: int | str, min_speakers: int = 1, max_speakers: int = 4) -> np.ndarray:
    """Cluster unit-vector embeddings into speakers (spectral clustering on a pruned cosine affinity).

    Parameters
    ----------
    emb : np.ndarray
        (n, d) unit vectors.
    speakers : int or "auto"
        Number of clusters, or estimated by eigengap within ``min_speakers..max_speakers``.

    Returns
    -------
    np.ndarray
        (n,) int labels 0..k-1.
    """
    from sklearn.cluster import KMeans

    n = emb.shape[0]
    want = max_speakers if speakers == "auto" else int(speakers)
    if n < 2 or want <= 1:
        return np.zeros(n, dtype=int)
    if n < 4:  # too few windows for a graph: a fixed count is split by k-means, "auto" keeps one speaker
        if speakers == "auto":
            return np.zeros(n, dtype=int)
        return KMeans(n_clusters=min(want, n), n_init=10, random_state=0).fit_predict(emb).astype(int)
    aff = affinity(emb)
    vals, vecs = laplacian_eigen(aff, max(want, 2) + 1)
    k = estimate_speakers(vals, min_speakers, max_speakers) if speakers == "auto" else min(int(speakers), n)
    if k <= 1:
        return np.zeros(n, dtype=int)
    v = vecs[:, :k]
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-10)
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(v).astype(int)


def viterbi(loglik: np.ndarray, penalty: np.ndarray | float) -> np.ndarray:
    """Best state path through ``loglik`` (frames, states) with a cost per change of state.

    ``penalty`` is a scalar or one value per frame (the cost of changing into that frame).
    """
    n, k = loglik.shape
    if n == 0:
        return np.zeros(0, dtype=int)
    pen = np.broadcast_to(np.asarray(penalty, dtype=float), (n,))
    off = 1.0 - np.eye(k)
    score = loglik[0].copy()
    back = np.zeros((n, k), dtype=np.int32)
    for t in range(1, n):
        cand = score[:, None] - pen[t] * off
        back[t] = cand.argmax(axis=0)
        score = cand[back[t], np.arange(k)] + loglik[t]
    path = np.zeros(n, dtype=int)
    path[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _mask(regions: Sequence[tuple[float, float]], n: int, frame: float = FRAME) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for s, e in regions:
        m[max(0, int(round(s / frame))) : min(n, int(round(e / frame)))] = True
    return m


def cluster_diarize(signal: np.ndarray, cfg: DiarizationConfig) -> ClusterResult:
    """Who spoke when in a mono 16 kHz signal, offline.

    Parameters
    ----------
    signal : np.ndarray
        1-D float32 (or float16: long calls) at 16 kHz.
    cfg : DiarizationConfig

    Returns
    -------
    ClusterResult
        Segments labelled ``S0``, ``S1``... in order of first appearance.
    """
    duration = signal.size / VAD_RATE
    frames = detect_speech(signal, cfg.vad_onset, cfg.vad_offset, cfg.vad_grow_db)
    regions = frames.regions(cfg.vad_bridge, cfg.vad_pad, cfg.min_speech)
    speech_seconds = float(sum(e - s for s, e in regions))
    if not regions:
        return ClusterResult([], 0, 0.0, ["no speech found by voice activity detection"])

    encoder = load_encoder(cfg.device)
    mel = mel_power(signal)
    long_w = sliding_windows(regions, cfg.window, cfg.window_step)
    with torch_threads(cfg.threads):
        long_e, short_e = encoder.embed_windows(signal, long_w, mel, readout=cfg.short_window or cfg.window)

    labels = _cluster(long_e, cfg)
    k = int(labels.max()) + 1 if labels.size else 0
    warnings: list[str] = []
    if k < 2 and cfg.speakers != 1:
        if cfg.speakers == "auto":
            warnings.append("one speaker found in the call")
        else:
            warnings.append(f"too little speech to separate {cfg.speakers} speakers; all of it given to one")
    centroids = np.stack([long_e[labels == c].mean(axis=0) for c in range(k)])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-10)

    n = int(np.ceil(duration / FRAME)) + 1
    speech = _mask(regions, n)
    if k == 1:
        path = np.zeros(n, dtype=int)
        both = np.zeros((n, 1), dtype=bool)
    else:
        raw_mask = _mask(mask_to_regions(frames.speech, frames.frame, duration, RAW_BRIDGE, RAW_PAD, 0.0), n)
        short_w = [(s, min(e, s + cfg.short_window)) for s, e in long_w] if cfg.short_window > 0 else []
        penalty = np.where(speech & np.roll(speech, 1), cfg.switch_penalty, 0.0)
        scores, _ = frame_scores(long_w, long_e @ centroids.T, n)
        if short_w:
            short_s, covered = frame_scores(short_w, short_e @ centroids.T, n)
            scores = np.where(covered[:, None], SHORT_WEIGHT * short_s + (1 - SHORT_WEIGHT) * scores, scores)
        loglik = SCORE_SCALE * scores
        loglik[~speech] = 0.0
        path = viterbi(loglik, penalty)
        both = _seams(path, speech & raw_mask, k, cfg.overlap_seam)
        speech = speech & ~_handover_pauses(path, speech, raw_mask)

    active = np.zeros((n, k), dtype=bool)
    active[np.arange(n), path] = True
    active |= both
    active &= speech[:, None]
    segments: list[tuple[float, float, int]] = []
    for c in range(k):
        for s, e in mask_to_regions(active[:, c], FRAME, duration):
            segments.append((round(s, 3), round(e, 3), c))
    segments.sort()
    order: dict[int, str] = {}
    for _, _, c in segments:
        order.setdefault(c, f"S{len(order)}")
    out = [(s, e, order[c]) for s, e, c in segments]
    log.info("cluster diarisation: %d speakers, %.1f s of speech, %d segments", len(order), speech_seconds, len(out))
    return ClusterResult(out, len(order), speech_seconds, warnings)


def _cluster(emb: np.ndarray, cfg: DiarizationConfig) -> np.ndarray:
    """Cluster labels of all windows; at most MAX_CLUSTERED are clustered, the rest join the nearest centroid."""
    n = emb.shape[0]
    if n <= MAX_CLUSTERED:
        return spectral_labels(emb, cfg.speakers, cfg.min_speakers, cfg.max_speakers)
    pick = np.linspace(0, n - 1, MAX_CLUSTERED).round().astype(int)
    sub = spectral_labels(emb[pick], cfg.speakers, cfg.min_speakers, cfg.max_speakers)
    k = int(sub.max()) + 1
    cent = np.stack([emb[pick][sub == c].mean(axis=0) for c in range(k)])
    cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-10)
    return (emb @ cent.T).argmax(axis=1)


def _handover_pauses(path: np.ndarray, speech: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Bridged pauses (speech regions without voice) where the speaker changes: nobody talks there.

    Pauses up to ``vad_bridge`` are part of one person's speech; a pause between two
    different speakers is a gap between turns.
    """
    pause = speech & ~raw
    out = np.zeros_like(pause)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], pause.astype(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2]):
        before = path[a - 1] if a > 0 and speech[a - 1] else None
        after = path[b] if b < path.size and speech[b] else None
        if before is not None and after is not None and before != after:
            out[a:b] = True
    return out


def _seams(path: np.ndarray, continuous: np.ndarray, k: int, seam: float) -> np.ndarray:
    """Frames where both speakers are kept: ``seam`` s either side of a change inside continuous speech."""
    both = np.zeros((path.size, k), dtype=bool)
    half = int(round(seam / FRAME))
    if half <= 0:
        return both
    changes = np.flatnonzero(path[1:] != path[:-1]) + 1
    for c in changes:
        a, b = max(0, c - half), min(path.size, c + half)
        if continuous[a:b].all():
            both[a:b, path[c - 1]] = True
            both[a:b, path[c]] = True
    return both
