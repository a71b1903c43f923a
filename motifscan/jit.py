"""numba compilation of the compiled passes (kernels, bigWig summaries): cached on disk when it can be.

numba compiles a kernel the first time it is called (seconds) and, with ``cache=True``, keeps the
machine code in ``NUMBA_CACHE_DIR`` when that is set and writable, else in ``__pycache__`` next to
the module, else in the user's cache folder, so later processes load it in well under a second.
When none of these is writable numba refuses ``cache=True`` outright; :func:`njit` then compiles
in memory for each process instead, so a read-only installation still scans.
"""

from __future__ import annotations

import logging

import numba

__all__ = ["njit"]

log = logging.getLogger("motifscan")


def njit(fn):
    """``numba.njit(nogil=True, cache=True)(fn)``, or without the disk cache when none is writable."""
    try:
        return numba.njit(nogil=True, cache=True)(fn)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available for file ..."
        log.debug("numba cache unavailable (%s); compiling %s in memory", exc, fn.__name__)
        return numba.njit(nogil=True)(fn)
