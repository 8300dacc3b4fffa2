"""Pure functions over lists of time intervals ``[(start, end), ...]`` in seconds."""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[float, float]


def union(intervals: Iterable[Interval], bridge: float = 0.0) -> list[Interval]:
    """Merge overlapping intervals (and those separated by at most ``bridge`` seconds).

    Returns the sorted, disjoint union.
    """
    out: list[list[float]] = []
    for s, e in sorted((float(s), float(e)) for s, e in intervals if e > s):
        if out and s <= out[-1][1] + bridge:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def total(intervals: Iterable[Interval]) -> float:
    """Total length of the union of ``intervals``."""
    return sum(e - s for s, e in union(intervals))


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Intersection of two interval sets (each merged first)."""
    ua, ub = union(a), union(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(ua) and j < len(ub):
        s = max(ua[i][0], ub[j][0])
        e = min(ua[i][1], ub[j][1])
        if e > s:
            out.append((s, e))
        if ua[i][1] < ub[j][1]:
            i += 1
        else:
            j += 1
    return out


def complement(intervals: Iterable[Interval], start: float, end: float) -> list[Interval]:
    """The parts of ``[start, end]`` not covered by ``intervals``."""
    out: list[Interval] = []
    t = start
    for s, e in union(intervals):
        if e <= start or s >= end:
            continue
        if s > t:
            out.append((t, min(s, end)))
        t = max(t, e)
    if t < end:
        out.append((t, end))
    return out


def overlap_length(a: Interval, b: Interval) -> float:
    """Length of the overlap of two single intervals (0 when disjoint)."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
