"""zlib streams of many blocks from one libdeflate compressor, kept for a writer's life.

The ``deflate`` wheel's ``zlib_compress`` allocates and frees a libdeflate compressor on every
call (its match finder's tables set up again each time: ~11% of the deflating of a bigWig's 16 kB
blocks when a scan's kernel has flushed the caches in between) and holds the GIL while it
compresses. The wheel's extension module exports libdeflate's own functions; :class:`Deflater`
calls them through ``ctypes``, which releases the GIL, with one compressor reused for every block.
The streams are the same bytes: the same library, code and level (libdeflate starts each call
from a freshly initialised match finder whatever compressor it is given). Where the functions
cannot be found it falls back to ``zlib_compress``, a call per block.
"""

from __future__ import annotations

import ctypes
import functools
import weakref
from typing import Sequence

import numpy as np
from deflate import _deflate
from deflate import zlib_compress

__all__ = ["Deflater"]


@functools.lru_cache(maxsize=None)
def _library() -> ctypes.CDLL | None:
    """libdeflate's functions in the ``deflate`` wheel's extension module, or ``None``."""
    try:
        lib = ctypes.CDLL(_deflate.__file__)
        lib.libdeflate_alloc_compressor.restype = ctypes.c_void_p
        lib.libdeflate_alloc_compressor.argtypes = [ctypes.c_int]
        lib.libdeflate_free_compressor.restype = None
        lib.libdeflate_free_compressor.argtypes = [ctypes.c_void_p]
        lib.libdeflate_zlib_compress_bound.restype = ctypes.c_size_t
        lib.libdeflate_zlib_compress_bound.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.libdeflate_zlib_compress.restype = ctypes.c_size_t
        lib.libdeflate_zlib_compress.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                                 ctypes.c_void_p, ctypes.c_size_t]
    except (OSError, AttributeError, TypeError):
        return None
    return lib


class Deflater:
    """libdeflate's zlib streams at ``level``, from one compressor (freed by :meth:`close`).

    Not for two threads at once (a writer owns one).
    """

    def __init__(self, level: int, *, library: bool = True) -> None:
        self.level = int(level)
        self._lib = _library() if library else None
        self._c = None
        self._out = np.empty(0, np.uint8)
        if self._lib is not None:
            self._c = self._lib.libdeflate_alloc_compressor(self.level)
            if not self._c:
                raise ValueError(f"libdeflate has no compression level {level}")
            self._free = weakref.finalize(self, self._lib.libdeflate_free_compressor, self._c)

    def blocks(self, buf: np.ndarray, bounds: Sequence[tuple[int, int]]) -> list[bytes]:
        """The zlib stream of each ``buf[a:b]`` for ``(a, b)`` in ``bounds`` (``buf``: a C-contiguous
        array, read as bytes)."""
        raw = buf.reshape(-1).view(np.uint8)
        if self._c is None:
            view = memoryview(raw)
            return [bytes(zlib_compress(view[a:b], self.level)) for a, b in bounds]
        if not raw.flags.c_contiguous:
            raise ValueError("Deflater.blocks needs a C-contiguous buffer")
        if not bounds:
            return []
        longest = max(b - a for a, b in bounds)
        bound = self._lib.libdeflate_zlib_compress_bound(self._c, longest)
        if len(self._out) < bound:  # each call is given room for its worst case, as the wheel gives it
            self._out = np.empty(bound, np.uint8)
        c, base, out, room = self._c, raw.ctypes.data, self._out, len(self._out)
        dst = out.ctypes.data
        compress = self._lib.libdeflate_zlib_compress
        done = []
        for a, b in bounds:
            n = compress(c, base + a, b - a, dst, room)
            if not n:
                raise RuntimeError("libdeflate could not compress a block into its bound")
            done.append(out[:n].tobytes())
        return done

    def close(self) -> None:
        """Free the compressor (idempotent)."""
        if self._c is not None:
            self._free()
            self._c = None
