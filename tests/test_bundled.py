"""Model files found inside installed packages (analysis.bundled)."""

from __future__ import annotations

import pytest

from analysis.bundled import package_file
from analysis.diarization.embedding import ge2e_weights_path
from analysis.diarization.overlap import bundled_segmentation_path
from analysis.errors import ModelUnavailableError


def test_finds_a_data_file_of_an_installed_package_without_importing_it() -> None:
    import sys

    path = package_file("resemblyzer", "pretrained.pt", missing="m", broken="b {where}")
    assert path.name == "pretrained.pt" and path.parent.name == "resemblyzer" and path.stat().st_size > 1_000_000
    assert "resemblyzer" not in sys.modules  # importing it pulls webrtcvad and pkg_resources
    assert ge2e_weights_path() == path
    assert bundled_segmentation_path().parts[-3:] == ("whisperx", "assets", "pytorch_model.bin")


def test_says_which_problem_it_is() -> None:
    with pytest.raises(ModelUnavailableError, match="^not installed: pip install nothing$"):
        package_file("no_such_package_here", "x.bin", missing="not installed: pip install nothing", broken="b")
    with pytest.raises(ModelUnavailableError, match=r"^pytest lacks x.bin; searched \['.*pytest'\]$"):
        package_file("pytest", "x.bin", missing="m", broken="pytest lacks x.bin; searched {where}")
