"""Shared fixtures: paths to sample and shared data, one analyser per test session.

Real recordings live in ``../shared/data/`` beside the checkout (never copied into
the repository); tests that need them skip, saying why, when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"
SHARED = Path(os.environ.get("CALLREVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_file(rel: str) -> Path:
    """Path of a file under ../shared/data; skips the test when it is absent."""
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"shared data not available: {p} (see ../shared/data/README.md)")
    return p


def sample_truth(name: str) -> dict:
    """Ground truth of a sample call; skips when the sample is absent."""
    p = SAMPLES / f"{name}.truth.json"
    if not p.exists():
        pytest.skip(f"sample call {name} not generated (run scripts/make_samples.py)")
    return json.loads(p.read_text())


@pytest.fixture(scope="session")
def analyzer():
    """One Analyzer (default, offline configuration) shared by the session: the model loads once."""
    from analysis import Analyzer, Config

    return Analyzer(Config())


@pytest.fixture(scope="session")
def analyzed(analyzer):
    """``analyzed(path)``: the report of a recording, analysed once per session with the default config."""
    cache: dict[str, object] = {}

    def get(path: str | Path):
        key = str(Path(path).resolve())
        if key not in cache:
            cache[key] = analyzer.analyze(path)
        return cache[key]

    return get
