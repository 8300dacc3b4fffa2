"""Hand freed memory back to the operating system between the stages of a long call.

Large numpy arrays are mapped and unmapped on their own, but the many mid-sized
buffers of transcription and diarisation (model activations, spectrogram blocks,
window batches) come from the C heap, and glibc keeps freed heap memory for
reuse rather than returning it. After the stages that make many of them, a long
call's process can hold hundreds of megabytes it no longer uses, and the next
stage's arrays are added on top of it: :func:`release_memory` returns it
(``malloc_trim``). Elsewhere than glibc it only collects garbage.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys

log = logging.getLogger(__name__)

_trim = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _trim = _libc.malloc_trim
        _trim.argtypes = [ctypes.c_size_t]
        _trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
        _trim = None


def release_memory() -> bool:
    """Collect garbage and return the C heap's free memory to the operating system.

    Returns
    -------
    bool
        True when memory was trimmed (glibc), False when only garbage was collected.
    """
    gc.collect()
    if _trim is None:
        return False
    return bool(_trim(0))
