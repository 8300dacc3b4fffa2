"""The frame grid shared by pitch, loudness and activity: pure helpers.

Frame ``i`` is centred at ``i * hop`` seconds. Masks are boolean arrays on that
grid; intervals are ``(start, end)`` pairs in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CHUNK_ROWS = 8192


def n_frames(duration: float, hop: float) -> int:
    """Frames of the grid for ``duration`` seconds."""
    return int(np.ceil(duration / hop - 1e-9)) if duration > 0 else 0


def intervals_to_mask(intervals: Iterable[tuple[float, float]], n: int, hop: float) -> np.ndarray:
    """Boolean mask of the frames whose centre lies in one of ``intervals`` (start inclusive, end exclusive)."""
    mask = np.zeros(n, dtype=bool)
    for s, e in intervals:
        i0 = max(0, int(np.ceil(s / hop - 1e-9)))
        i1 = min(n, int(np.ceil(e / hop - 1e-9)))
        if i1 > i0:
            mask[i0:i1] = True
    return mask


def mask_to_intervals(mask: np.ndarray, hop: float) -> list[tuple[float, float]]:
    """Runs of True frames as ``(start, end)`` seconds: from the first frame's centre to one hop past the last."""
    m = np.asarray(mask, dtype=np.int8)
    if m.size == 0:
        return []
    d = np.diff(np.concatenate([[0], m, [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return [(float(s * hop), float(e * hop)) for s, e in zip(starts, ends)]


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in ``mask``."""
    m = np.asarray(mask, dtype=np.int8)
    d = np.diff(np.concatenate([[0], m, [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def drop_short_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """``mask`` without its runs of True shorter than ``min_len`` frames."""
    out = np.asarray(mask, dtype=bool).copy()
    if min_len <= 1:
        return out
    s, e = runs(out)
    for a, b in zip(s, e):
        if b - a < min_len:
            out[a:b] = False
    return out


def fill_short_gaps(mask: np.ndarray, max_len: int) -> np.ndarray:
    """``mask`` with runs of False of at most ``max_len`` frames between two True frames set to True."""
    out = np.asarray(mask, dtype=bool).copy()
    if max_len <= 0 or not out.any():
        return out
    s, e = runs(~out)
    for a, b in zip(s, e):
        if a > 0 and b < len(out) and b - a <= max_len:
            out[a:b] = True
    return out


def running_median(values: np.ndarray, half: int, at: np.ndarray | None = None, min_count: int = 1) -> np.ndarray:
    """Centred running median over ``2 * half + 1`` frames, ignoring NaN.

    Parameters
    ----------
    values : np.ndarray
        1-D, NaN where there is no value.
    half : int
        Half-width of the window, frames.
    at : np.ndarray of int, optional
        Only compute at these frame indices (all frames when omitted).
    min_count : int
        NaN where the window holds fewer values than this.

    Returns
    -------
    np.ndarray
        float64, the length of ``at`` (or of ``values``).
    """
    v = np.asarray(values, dtype=np.float64)
    idx = np.arange(len(v)) if at is None else np.asarray(at, dtype=np.int64)
    out = np.full(len(idx), np.nan)
    if len(idx) == 0 or len(v) == 0:
        return out
    padded = np.concatenate([np.full(half, np.nan), v, np.full(half, np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    for c0 in range(0, len(idx), CHUNK_ROWS):
        rows_idx = idx[c0 : c0 + CHUNK_ROWS]
        srt = np.sort(view[rows_idx], axis=1)  # NaN sorts last
        k = np.sum(~np.isnan(srt), axis=1)
        ok = k >= max(1, min_count)
        r = np.flatnonzero(ok)
        lo = (k[ok] - 1) // 2
        hi = k[ok] // 2
        res = np.full(len(rows_idx), np.nan)
        res[r] = 0.5 * (srt[r, lo] + srt[r, hi])
        out[c0 : c0 + len(rows_idx)] = res
    return out
