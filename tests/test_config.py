"""Configuration: defaults, TOML files, errors naming the key, command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.config import Config
from analysis.errors import ConfigError


def test_defaults_work_offline() -> None:
    cfg = Config()
    assert cfg.asr.model == "tiny.en"
    assert cfg.audio.sample_rate == 16000


def test_file_overrides_only_given_keys(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[asr]\nmodel = "small.en"\n[roles]\nagent_channel = "right"\ncompany_names = ["Acme"]\n')
    cfg = Config.load(p)
    assert cfg.asr.model == "small.en" and cfg.roles.agent_channel == "right"
    assert cfg.roles.company_names == ["Acme"]
    assert cfg.asr.beam_size == Config().asr.beam_size


def test_unknown_key_named(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[asr]\nmodle = 'x'\n")
    with pytest.raises(ConfigError, match=r"c\.toml: key 'asr\.modle'"):
        Config.load(p)


def test_bad_value_named(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[roles]\nagent_channel = 'middle'\n")
    with pytest.raises(ConfigError, match=r"key 'roles\.agent_channel'"):
        Config.load(p)


def test_not_toml(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[asr\nmodel=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.load(p)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        Config.load("/nonexistent/c.toml")


def test_overrides() -> None:
    cfg = Config().with_overrides({"asr.model": "base.en", "roles.agent_channel": None})
    assert cfg.asr.model == "base.en" and cfg.roles.agent_channel == "auto"
