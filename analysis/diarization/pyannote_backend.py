"""The pyannote backend: a pyannote.audio ``Pipeline`` run on a signal held in memory.

The pipeline is named by ``diarization.pyannote_pipeline``: a Hugging Face model
id (default ``pyannote/speaker-diarization-community-1``, gated: accept its
conditions on hf.co and give a token through ``HF_TOKEN``), a local directory
holding ``config.yaml``, or a ``config.yaml`` file. Pipelines are loaded once per
process; loading failures are reported with what to do about them, and
remembered so a batch does not retry a missing pipeline on every call.

pyannote.audio sends usage telemetry by default; callreview turns it off
(``PYANNOTE_METRICS_ENABLED=false``) unless the environment already sets it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
from pathlib import Path

import numpy as np

from ..config import DiarizationConfig
from ..errors import ModelUnavailableError

log = logging.getLogger(__name__)

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

SETTINGS_HINT = (
    "set diarization.pyannote_pipeline to a Hugging Face id (e.g. pyannote/speaker-diarization-community-1), "
    "a folder holding config.yaml, or a config.yaml file"
)
TOKEN_HINT = (
    "accept the pipeline's conditions at https://hf.co/{id}, create a read token at https://hf.co/settings/tokens "
    "and set it in the HF_TOKEN environment variable (or diarization.hf_token)"
)
FALLBACK_HINT = "or use the offline backend: --diarization cluster"

_PIPELINES: dict[tuple, object] = {}
_FAILURES: dict[tuple, str] = {}
_LOCK = threading.Lock()


def resolve_token(cfg: DiarizationConfig) -> str | None:
    """The Hugging Face token: ``diarization.hf_token`` when set, else the ``HF_TOKEN`` environment variable."""
    if cfg.hf_token is not None:
        value = cfg.hf_token.get_secret_value().strip()
        if value and set(value) != {"*"}:  # a masked copy of the configuration carries no token
            return value
    value = os.environ.get("HF_TOKEN", "").strip()
    return value or None


def is_local_reference(ref: str) -> bool:
    """True when the pipeline reference names a local file or folder rather than a Hugging Face id."""
    p = Path(ref).expanduser()
    return (
        p.exists()
        or ref.startswith((".", "~", "/"))
        or ref.endswith((".yaml", ".yml"))
        or os.sep in ref.strip("/").replace("/", "", 1)  # more than one slash: a path, not owner/name
        or (os.altsep is not None and os.altsep in ref)
    )


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible to torch, else ``cpu``."""
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # noqa: BLE001
        return "cpu"


def unusable_reason(cfg: DiarizationConfig) -> str | None:
    """Why the configured pipeline certainly cannot be loaded, found without any network access; None when it may load.

    Used by the ``auto`` backend to avoid reaching for the network when a gated hub
    pipeline has neither a token nor a cached copy.
    """
    ref = cfg.pyannote_pipeline
    if is_local_reference(ref):
        return None if Path(ref).expanduser().exists() else f"pyannote pipeline {ref} does not exist"
    try:
        import huggingface_hub
        from huggingface_hub import constants
    except ImportError:
        return "huggingface_hub is not installed"
    try:
        cached = huggingface_hub.try_to_load_from_cache(ref, "config.yaml")
    except Exception:  # noqa: BLE001 - an invalid id: let the loader explain
        return None
    if isinstance(cached, str):
        return None
    if constants.HF_HUB_OFFLINE:
        return f"pyannote pipeline '{ref}' is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading it"
    if resolve_token(cfg) is None:
        return f"no Hugging Face token (HF_TOKEN) to download the gated pyannote pipeline '{ref}', and it is not in the local cache"
    return None


def load_pipeline(cfg: DiarizationConfig):
    """Load (once per process) the pyannote.audio pipeline the configuration names, on its device.

    Raises
    ------
    ModelUnavailableError
        With which problem it is (not installed, no such path, no config.yaml, malformed
        config, gated without a token, token refused, offline and not cached...) and how to fix it.
    """
    token = resolve_token(cfg)
    device = resolve_device(cfg.device)
    key = (cfg.pyannote_pipeline, hash(token), device)
    with _LOCK:
        if key in _PIPELINES:
            return _PIPELINES[key]
        if key in _FAILURES:
            raise ModelUnavailableError(_FAILURES[key])
        try:
            pipeline = _load(cfg.pyannote_pipeline, token, device)
        except ModelUnavailableError as exc:
            _FAILURES[key] = str(exc)
            raise
        _PIPELINES[key] = pipeline
        return pipeline


def _load(ref: str, token: str | None, device: str):
    try:
        from pyannote.audio import Pipeline
    except ImportError as exc:
        raise ModelUnavailableError(
            f"pyannote backend unavailable: pyannote.audio cannot be imported ({exc}); pip install 'pyannote.audio>=4', {FALLBACK_HINT}"
        ) from None

    local = is_local_reference(ref)
    if local:
        checkpoint: str | dict = _local_config(ref)
    else:
        checkpoint = ref
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):  # pyannote prints download advice; we raise our own
            pipeline = Pipeline.from_pretrained(checkpoint, token=token)
    except ModelUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated into an actionable message
        raise ModelUnavailableError(_explain(ref, local, token, exc)) from None
    finally:
        if captured.getvalue().strip():
            log.debug("pyannote said: %s", captured.getvalue().strip())
    if pipeline is None:
        raise ModelUnavailableError(f"pyannote pipeline '{ref}' could not be loaded (nothing returned); {FALLBACK_HINT}")
    if not callable(pipeline):
        raise ModelUnavailableError(f"pyannote pipeline '{ref}' is not a pipeline ({type(pipeline).__name__}); {SETTINGS_HINT}")
    try:
        import torch

        pipeline.to(torch.device(device))
    except Exception as exc:  # noqa: BLE001
        raise ModelUnavailableError(
            f"pyannote pipeline '{ref}' cannot run on {device} ({_first_line(exc)}); set diarization.device = \"cpu\""
        ) from None
    log.info("pyannote pipeline %s loaded on %s", ref, device)
    return pipeline


def _local_config(ref: str) -> str:
    """Validate a local pipeline reference; return the config.yaml path pyannote should load."""
    import yaml

    p = Path(ref).expanduser()
    if not p.exists():
        raise ModelUnavailableError(f"pyannote pipeline path {p} does not exist; {SETTINGS_HINT}, {FALLBACK_HINT}")
    config = p / "config.yaml" if p.is_dir() else p
    if not config.is_file():
        raise ModelUnavailableError(
            f"pyannote pipeline folder {p} has no config.yaml; point diarization.pyannote_pipeline at the folder that "
            f"holds the pipeline's config.yaml (and its model checkpoints), {FALLBACK_HINT}"
        )
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelUnavailableError(f"pyannote pipeline config {config} cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        raise ModelUnavailableError(
            f"pyannote pipeline config {config} is not valid YAML ({_first_line(exc)}); fix the file or re-download the pipeline"
        ) from None
    name = data.get("pipeline", {}).get("name") if isinstance(data, dict) and isinstance(data.get("pipeline"), dict) else None
    if not isinstance(name, str) or not name:
        raise ModelUnavailableError(
            f"pyannote pipeline config {config} is malformed: it needs a 'pipeline:' section with a 'name:' "
            "(e.g. pyannote.audio.pipelines.SpeakerDiarization) and its 'params:'; fix the file or re-download the pipeline"
        )
    return str(p)


def _explain(ref: str, local: bool, token: str | None, exc: Exception) -> str:
    """A user-actionable message for an exception raised while loading a pipeline."""
    try:
        from huggingface_hub.errors import GatedRepoError, HFValidationError, LocalEntryNotFoundError, OfflineModeIsEnabled, RepositoryNotFoundError
        from huggingface_hub.utils import HfHubHTTPError
    except ImportError:  # pragma: no cover - huggingface_hub always comes with pyannote.audio
        GatedRepoError = HFValidationError = LocalEntryNotFoundError = OfflineModeIsEnabled = RepositoryNotFoundError = HfHubHTTPError = ()  # type: ignore[assignment]

    detail = _first_line(exc)
    if local:
        return (
            f"pyannote pipeline config {ref} cannot be loaded ({type(exc).__name__}: {detail}): a model or file it names "
            f"is missing or its parameters are wrong; fix config.yaml, {FALLBACK_HINT}"
        )
    hint = TOKEN_HINT.format(id=ref)
    if isinstance(exc, GatedRepoError):
        if token is None:
            return f"pyannote pipeline '{ref}' is gated and no Hugging Face token was given: {hint}; {FALLBACK_HINT}"
        return f"pyannote pipeline '{ref}' is gated and the Hugging Face token given has no access to it: {hint}; {FALLBACK_HINT}"
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError, TimeoutError)) or _is_connection_error(exc):
        need = "" if token else f" It is gated, so a token is needed too: {hint}."
        return (
            f"pyannote pipeline '{ref}' is not in the local Hugging Face cache and cannot be downloaded (offline or no network: "
            f"{detail}). Run once with network access to cache it, or copy the pipeline folder here and set "
            f"diarization.pyannote_pipeline to it.{need} {FALLBACK_HINT}"
        )
    if isinstance(exc, RepositoryNotFoundError):
        if token is None:
            return f"pyannote pipeline '{ref}' was not found on the Hugging Face hub (or it is private and no token was given: {hint}); {SETTINGS_HINT}"
        return f"pyannote pipeline '{ref}' was not found on the Hugging Face hub, or the token given cannot see it; {SETTINGS_HINT}"
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return f"the Hugging Face hub refused the token for pyannote pipeline '{ref}' (HTTP {status}): {hint}; {FALLBACK_HINT}"
        return f"pyannote pipeline '{ref}' could not be downloaded ({detail}); try again later, {FALLBACK_HINT}"
    if isinstance(exc, HFValidationError):
        return f"'{ref}' is neither an existing local path nor a valid Hugging Face id; {SETTINGS_HINT}"
    return f"pyannote pipeline '{ref}' cannot be loaded ({type(exc).__name__}: {detail}); {FALLBACK_HINT}"


def _is_connection_error(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__name__ in ("ConnectError", "ConnectTimeout", "ProxyError"):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def annotation_segments(annotation, duration: float | None = None) -> list[tuple[float, float, str]]:
    """(start, end, label) of a ``pyannote.core.Annotation``, labels renamed S0, S1... by first appearance.

    With ``duration``, segments are clipped to the recording (pyannote's last sliding
    window may reach past its end).
    """
    tracks = sorted((float(seg.start), float(seg.end), str(label)) for seg, _, label in annotation.itertracks(yield_label=True))
    names: dict[str, str] = {}
    out = []
    for s, e, label in tracks:
        if duration is not None:
            s, e = max(0.0, s), min(duration, e)
        if e <= s:
            continue
        names.setdefault(label, f"S{len(names)}")
        out.append((round(s, 3), round(e, 3), names[label]))
    return out


def pyannote_diarize(signal: np.ndarray, sample_rate: int, cfg: DiarizationConfig, pipeline=None) -> list[tuple[float, float, str]]:
    """Run the pyannote pipeline on a mono signal passed in memory.

    Parameters
    ----------
    signal : np.ndarray
        1-D float32.
    sample_rate : int
    cfg : DiarizationConfig
        ``speakers`` is passed as ``num_speakers``, or ``min_speakers``/``max_speakers`` when "auto".
    pipeline : optional
        An already loaded pipeline (default: :func:`load_pipeline`).

    Returns
    -------
    list of (start, end, label)
        The overlap-aware diarisation (``speaker_diarization``), clipped to the signal,
        labels S0, S1...

    Raises
    ------
    ModelUnavailableError
        When the pipeline cannot be loaded or does not return a diarisation.
    """
    import torch

    pipeline = pipeline if pipeline is not None else load_pipeline(cfg)
    waveform = torch.from_numpy(np.ascontiguousarray(signal, dtype=np.float32)).reshape(1, -1)
    kwargs = (
        {"min_speakers": cfg.min_speakers, "max_speakers": cfg.max_speakers}
        if cfg.speakers == "auto"
        else {"num_speakers": int(cfg.speakers)}
    )
    output = pipeline({"waveform": waveform, "sample_rate": int(sample_rate)}, **kwargs)
    annotation = getattr(output, "speaker_diarization", output)
    if not hasattr(annotation, "itertracks"):
        raise ModelUnavailableError(
            f"pyannote pipeline '{cfg.pyannote_pipeline}' returned {type(output).__name__}, not a speaker diarisation; "
            f"{SETTINGS_HINT}"
        )
    return annotation_segments(annotation, signal.size / float(sample_rate))
