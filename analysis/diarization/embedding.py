"""Speaker embeddings: the GE2E speaker encoder whose weights ship inside the ``resemblyzer`` package.

The network (3-layer LSTM over 40-band mel power spectra, 10 ms hop, then a
linear layer, ReLU and L2 norm: a 256-d unit vector per utterance) is rebuilt
here and ``resemblyzer/pretrained.pt`` is loaded into it directly, so nothing of
the ``resemblyzer`` package is imported (its import pulls webrtcvad and
pkg_resources, and its encoder prints when it loads). The weights are read with
``torch.load(weights_only=True)``.

Every window is scaled to the same level (-30 dBFS, as resemblyzer does for
whole utterances) before it is embedded: the encoder takes linear, not log, mel
power, so without this a far-field speaker's quiet stretches and loud ones land
in different clusters.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..bundled import package_file
from ..errors import ModelUnavailableError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
FRAMES_PER_SECOND = SAMPLE_RATE // HOP
TARGET_DBFS = -30.0
EMBEDDING_SIZE = 256
BATCH = 64
MEL_BLOCK = 6000  # mel frames computed at a time (60 s)
WINDOW_GROUP = 1024  # windows scaled and embedded at a time

_ENCODERS: dict[str, "SpeakerEncoder"] = {}
_LOCK = threading.Lock()


def ge2e_weights_path() -> Path:
    """Path of ``resemblyzer/pretrained.pt`` (found without importing the package).

    Raises
    ------
    ModelUnavailableError
        When resemblyzer is not installed or its weights file is missing.
    """
    return package_file(
        "resemblyzer",
        "pretrained.pt",
        missing="speaker encoder unavailable: the 'resemblyzer' package (which ships the GE2E weights) is not installed; "
        "pip install resemblyzer, or use --diarization pyannote",
        broken="speaker encoder unavailable: resemblyzer is installed at {where} but has no "
        "pretrained.pt; reinstall it (pip install --force-reinstall resemblyzer)",
    )


def mel_power(signal: np.ndarray) -> np.ndarray:
    """Mel power spectrogram as the GE2E encoder expects it.

    Parameters
    ----------
    signal : np.ndarray
        1-D float32 (or float16: long calls) at 16 kHz.

    Returns
    -------
    np.ndarray
        (frames, 40) float32, one frame per 10 ms (frame ``i`` centred at ``i * 0.01`` s).
    """
    import librosa

    x = np.asarray(signal)  # float16 (a long call) is converted a block at a time
    if x.size == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    # librosa's centred frames (zero padding at the ends), computed MEL_BLOCK frames at a
    # time: the whole call's short-time Fourier transform would take GBs on long calls.
    n_frames = 1 + x.size // HOP
    half = N_FFT // 2
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for f0 in range(0, n_frames, MEL_BLOCK):
        f1 = min(n_frames, f0 + MEL_BLOCK)
        a, b = f0 * HOP - half, (f1 - 1) * HOP + half
        piece = np.asarray(x[max(0, a) : min(x.size, b)], dtype=np.float32)
        if a < 0 or b > x.size:
            piece = np.pad(piece, (max(0, -a), max(0, b - x.size)))
        mel = librosa.feature.melspectrogram(
            y=np.ascontiguousarray(piece), sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, center=False
        )
        out[f0:f1] = mel.T
    return out


def window_gains(signal: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
    """Power gain bringing each window of ``signal`` to -30 dBFS (applied to its mel power)."""
    out = np.ones(len(windows), dtype=np.float32)
    target = 10.0 ** (TARGET_DBFS / 10.0)
    for i, (s, e) in enumerate(windows):
        a = int(max(0, round(s * SAMPLE_RATE)))
        b = int(min(signal.size, round(e * SAMPLE_RATE)))
        if b <= a:
            continue
        seg = np.asarray(signal[a:b], dtype=np.float64)
        power = float(np.dot(seg, seg)) / (b - a)
        out[i] = target / max(power, 1e-10)
    return out


class SpeakerEncoder:
    """GE2E speaker encoder (weights from resemblyzer), embedding windows of one signal.

    Parameters
    ----------
    device : str
        ``cpu``, ``cuda`` or ``auto``.
    """

    def __init__(self, device: str = "auto") -> None:
        import torch
        from torch import nn

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        path = ge2e_weights_path()
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            state = {k: v for k, v in checkpoint["model_state"].items() if k.startswith(("lstm.", "linear."))}
        except Exception as exc:  # noqa: BLE001 - a corrupt file is a user-fixable problem
            raise ModelUnavailableError(
                f"speaker encoder weights {path} cannot be read ({exc}); reinstall resemblyzer (pip install --force-reinstall resemblyzer)"
            ) from None

        class _GE2E(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
                self.linear = nn.Linear(256, EMBEDDING_SIZE)

        self._net = _GE2E()
        self._net.load_state_dict(state, strict=True)
        self._net.eval().to(self.device)
        log.info("GE2E speaker encoder loaded from %s on %s", path, self.device)

    def embed_mels(self, mels: Sequence[np.ndarray], readout: int = 0) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Embed mel power sequences of any lengths.

        Parameters
        ----------
        mels : sequence of np.ndarray
            Each (frames, 40), already level-normalised.
        readout : int, optional
            Also return, for each sequence, the embedding of its first ``readout`` frames
            (read from the same LSTM pass, so it costs nothing extra).

        Returns
        -------
        np.ndarray or (np.ndarray, np.ndarray)
            (len(mels), 256) float32 unit vectors; with ``readout``, also those of the prefixes.
        """
        import torch
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        out = np.zeros((len(mels), EMBEDDING_SIZE), dtype=np.float32)
        early = np.zeros_like(out)
        if not mels:
            return (out, early) if readout else out
        order = sorted(range(len(mels)), key=lambda i: len(mels[i]))
        with torch.inference_mode():
            for b in range(0, len(order), BATCH):
                idx = order[b : b + BATCH]
                lengths = [max(1, len(mels[i])) for i in idx]
                batch = np.zeros((len(idx), max(lengths), N_MELS), dtype=np.float32)
                for j, i in enumerate(idx):
                    batch[j, : len(mels[i])] = mels[i]
                x = torch.from_numpy(batch).to(self.device)
                if min(lengths) == max(lengths):
                    seq, _ = self._net.lstm(x)
                else:
                    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
                    seq, _ = pad_packed_sequence(self._net.lstm(packed)[0], batch_first=True)
                rows = torch.arange(len(idx), device=seq.device)
                last = torch.tensor(lengths, device=seq.device) - 1
                out[idx] = self._head(seq[rows, last]).cpu().numpy()
                if readout:
                    early[idx] = self._head(seq[rows, last.clamp(max=readout - 1)]).cpu().numpy()
        return (out, early) if readout else out

    def _head(self, hidden):
        import torch

        emb = torch.relu(self._net.linear(hidden))
        return emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-9)

    def embed_windows(
        self, signal: np.ndarray, windows: Sequence[tuple[float, float]], mel: np.ndarray | None = None, readout: float = 0.0
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Embed windows ``(start, end)`` (seconds) of a 16 kHz signal, each brought to -30 dBFS.

        Parameters
        ----------
        signal : np.ndarray
            1-D float32 (or float16: long calls) at 16 kHz.
        windows : sequence of (start, end)
        mel : np.ndarray, optional
            :func:`mel_power` of ``signal`` when already computed.
        readout : float, optional
            Also embed the first ``readout`` seconds of each window (same pass; that prefix
            keeps the whole window's level scaling).

        Returns
        -------
        np.ndarray or (np.ndarray, np.ndarray)
            (len(windows), 256) float32 unit vectors; with ``readout``, also those of the prefixes.
        """
        if mel is None:
            mel = mel_power(signal)
        gains = window_gains(signal, windows)
        frames = int(round(readout * FRAMES_PER_SECOND))
        parts = []
        for w0 in range(0, len(windows), WINDOW_GROUP):  # a group at a time: scaled copies of every window would not fit on long calls
            seqs = []
            for (s, e), g in zip(windows[w0 : w0 + WINDOW_GROUP], gains[w0 : w0 + WINDOW_GROUP]):
                a = int(round(s * FRAMES_PER_SECOND))
                b = max(a + 1, int(round(e * FRAMES_PER_SECOND)))
                seqs.append(mel[a:b] * g)
            parts.append(self.embed_mels(seqs, frames))
        if not parts:
            return self.embed_mels([], frames)
        if frames:
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        return np.concatenate(parts)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads (0: leave torch's setting), restoring it after."""
    import torch

    before = torch.get_num_threads()
    if n > 0 and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def load_encoder(device: str = "auto") -> SpeakerEncoder:
    """The GE2E encoder for ``device``, loaded once per process."""
    with _LOCK:
        enc = _ENCODERS.get(device)
        if enc is None:
            enc = _ENCODERS[device] = SpeakerEncoder(device)
        return enc
