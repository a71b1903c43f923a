"""FASTA input: streaming (plain, gzip, bgzip, stdin) and indexed random access (pyfaidx).

Streaming reads the file in large blocks and never holds more than one chunk of a record, so a
whole genome is never in memory. Compression is detected from the magic bytes, not the file name.
Indexed access (:class:`IndexedFasta`) needs a plain or bgzip file; plain gzip cannot be indexed
and gets an error that shows the ``bgzip`` fix.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import re
import struct
import sys
import warnings
import zlib
from collections.abc import ItemsView, Mapping, ValuesView
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

import numpy as np

from ..codes import INVALID, N_CODE, encode, first_invalid, soft_mask
from ..errors import InputError
from .names import RecordNames

__all__ = [
    "FastaRecord",
    "Chunk",
    "RecordRun",
    "compression",
    "open_binary",
    "iter_fasta_pieces",
    "read_fasta",
    "stream_chunks",
    "IndexedFasta",
    "BGZIP_HINT",
    "read_fai",
    "fai_total",
    "RecordSizes",
    "build_fai",
    "fasta_sizes",
    "FaiFasta",
]


log = logging.getLogger("motifscan")

BLOCK_SIZE = 1 << 22
_WHITESPACE = b" \t\r\n\x0b\x0c"
BOM = b"\xef\xbb\xbf"
BGZIP_HINT = "recompress it with bgzip (zcat FILE.gz | bgzip -c > FILE.fa.gz) or decompress it"


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: its name (first word of the header), uint8 codes and description."""

    name: str
    codes: np.ndarray
    description: str = ""

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(slots=True)
class Chunk:
    """A piece of one record: codes for record positions ``[start, start + len(codes))``.

    ``masked`` marks soft-masked (lowercase) bases when asked for, else ``None``. ``last`` is
    True for the final chunk of its record.
    """

    name: str
    start: int
    codes: np.ndarray
    masked: np.ndarray | None = None
    last: bool = False


@dataclass(slots=True)
class RecordRun:
    """Consecutive whole records, each no longer than one chunk plus its overlap, end to end.

    Record ``i`` is ``names[i]``, codes ``codes[bounds[i]:bounds[i + 1]]`` (soft-mask flags
    ``masked[...]`` the same, when asked for, else ``masked`` is ``None``). ``bounds`` is int64
    ``(len(names) + 1,)``; ``codes`` may be a longer array that other runs share.
    """

    names: list[str]
    codes: np.ndarray
    bounds: np.ndarray
    masked: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)

    def head(self, n: int) -> "RecordRun":
        """The first ``n`` records."""
        return RecordRun(self.names[:n], self.codes, self.bounds[: n + 1], self.masked)

    def chunks(self) -> Iterator[Chunk]:
        """One :class:`Chunk` per record (as :func:`stream_chunks` without ``runs`` gives them)."""
        bounds = self.bounds.tolist()
        for name, a, b in zip(self.names, bounds[:-1], bounds[1:]):
            yield Chunk(name, 0, self.codes[a:b], None if self.masked is None else self.masked[a:b], True)


def compression(path: str | os.PathLike) -> str:
    """Return ``"plain"``, ``"gzip"`` or ``"bgzip"`` from the file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != b"\x1f\x8b":
        return "plain"
    # bgzip: gzip with FEXTRA and a 'BC' subfield (SAM spec, section 4.1)
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzip"
    return "gzip"


def open_binary(path: str | os.PathLike) -> BinaryIO:
    """Open a file for binary reading, decompressing gzip/bgzip; ``"-"`` is standard input."""
    if os.fspath(path) == "-":
        stdin = sys.stdin.buffer
        head = stdin.peek(2)[:2] if hasattr(stdin, "peek") else b""
        return gzip.GzipFile(fileobj=stdin) if head == b"\x1f\x8b" else stdin
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=p)
    if p.is_dir():
        raise InputError("is a directory, not a file", path=p)
    try:
        kind = compression(p)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=p) from None
    return gzip.open(p, "rb") if kind != "plain" else open(p, "rb")


_CORRUPT = (EOFError, gzip.BadGzipFile, zlib.error)


def _corrupt(exc: Exception, path) -> InputError:
    return InputError(f"compressed data is truncated or corrupt ({exc})", path=path,
                      hint="download or compress the file again")


def _blocks(fh: BinaryIO, path) -> Iterator[bytes]:
    try:
        while True:
            block = fh.read(BLOCK_SIZE)
            if not block:
                return
            yield block
    except _CORRUPT as exc:
        raise _corrupt(exc, path) from None


def _blocks_into(fh: BinaryIO, path) -> Iterator[bytearray]:
    """:func:`_blocks`, read into one reused buffer (no new 4 MB object a block): each block is
    overwritten by the next, so nothing may be kept from it (but copies) once the next is asked for."""
    buf = bytearray(BLOCK_SIZE)
    view = memoryview(buf)
    try:
        while True:
            n = fh.readinto(view)
            if not n:
                return
            yield buf if n == len(buf) else buf[:n]
    except _CORRUPT as exc:
        raise _corrupt(exc, path) from None
    finally:
        view.release()


def iter_fasta_pieces(path: str | os.PathLike) -> Iterator[tuple[str, str, bytes | None]]:
    """Yield the raw structure of a FASTA file without holding a record in memory.

    Yields ``(name, description, None)`` at each header, then ``(name, description, piece)`` for
    consecutive pieces of that record's sequence with white space removed. Pieces are not yet
    validated. Raises :class:`InputError` for an empty file, text before the first header, an
    empty record name or a duplicate record name.
    """
    seen: set[str] = set()
    name: str | None = None
    desc = ""
    lineno = 1
    at_line_start = True
    carry = b""
    any_data = False
    with open_binary(path) as fh:
        for block in _blocks(fh, path):
            if not any_data and block.startswith(BOM):
                block = block[len(BOM):]  # a UTF-8 byte-order mark (Windows editors) is not text
            any_data = True
            data = carry + block if carry else block
            carry = b""
            start = 0
            n = len(data)
            while start < n:
                if at_line_start and data[start] == 0x3E:  # '>'
                    nl = data.find(b"\n", start)
                    if nl == -1:
                        carry = data[start:]
                        break
                    header = data[start + 1 : nl].rstrip(b"\r").decode("utf-8", errors="replace")
                    parts = header.split(None, 1)
                    if not parts:
                        raise InputError("record with an empty name", path=path, where=f"line {lineno}")
                    name, desc = parts[0], (parts[1] if len(parts) > 1 else "")
                    if name in seen:
                        raise InputError(
                            f"duplicate record name {name!r}",
                            path=path,
                            where=f"line {lineno}",
                            hint="record names must be unique",
                        )
                    seen.add(name)
                    yield name, desc, None
                    lineno += 1
                    start = nl + 1
                    at_line_start = True
                    continue
                # the next header: a '>' after a newline ('>' alone is a fast memchr search,
                # and one inside a line is a bad base that encode() reports)
                j = data.find(b">", start)
                while j != -1 and (j == 0 or data[j - 1] != 0x0A):
                    j = data.find(b">", j + 1)
                end = n if j == -1 else j
                segment = data[start:end]
                piece = segment.translate(None, _WHITESPACE)
                if piece:
                    if name is None:
                        raise InputError(
                            "not FASTA: the first line does not start with '>'",
                            path=path,
                            where=f"line {lineno}",
                            hint="give a FASTA file (a '>name' line, then sequence lines)",
                        )
                    yield name, desc, piece
                lineno += segment.count(b"\n")
                at_line_start = segment.endswith(b"\n")
                start = end
        if carry:  # a header line without a newline at the very end of the file
            header = carry[1:].rstrip(b"\r\n").decode("utf-8", errors="replace")
            parts = header.split(None, 1)
            if not parts:
                raise InputError("record with an empty name", path=path, where=f"line {lineno}")
            if parts[0] in seen:
                raise InputError(f"duplicate record name {parts[0]!r}", path=path, where=f"line {lineno}")
            seen.add(parts[0])
            yield parts[0], (parts[1] if len(parts) > 1 else ""), None
    if not any_data:
        raise InputError("file is empty", path=path, hint="give a FASTA file with at least one record")
    if not seen:
        raise InputError("no FASTA records found", path=path, hint="a record starts with a '>name' line")


def read_fasta(path: str | os.PathLike) -> Iterator[FastaRecord]:
    """Iterate over whole, validated records (for peak-sized sequences, not chromosomes).

    Raises
    ------
    InputError
        Unreadable file, bad structure, or a letter that is not an IUPAC code (the message names
        the file, the record and the 1-based position).
    """
    name, desc, parts = None, "", []

    def finish() -> FastaRecord:
        raw = b"".join(parts)
        try:
            codes = encode(raw)
        except InputError as exc:
            raise exc.located(path, f"record {name}") from None
        return FastaRecord(name, codes, desc)

    for rec_name, rec_desc, piece in iter_fasta_pieces(path):
        if piece is None:
            if name is not None:
                yield finish()
            name, desc, parts = rec_name, rec_desc, []
        else:
            parts.append(piece)
    if name is not None:
        yield finish()


def stream_chunks(
    path: str | os.PathLike,
    chunk_size: int,
    overlap: int = 0,
    *,
    with_mask: bool = False,
    records: set[str] | None = None,
    runs: bool = False,
    _blocks_from: Iterator[bytes] | None = None,
) -> Iterator[Chunk | RecordRun]:
    """Stream every record as overlapping chunks of codes, in bounded memory.

    Chunk ``k`` of a record covers positions ``[k * chunk_size, k * chunk_size + chunk_size +
    overlap)`` (clipped at the record's end), so anything that needs ``overlap + 1`` consecutive
    bases lies wholly inside exactly one chunk's first ``chunk_size`` starting positions. A
    record shorter than one chunk comes as one chunk (also an empty record, with no codes).

    Records that begin and end inside one block of the file (every scaffold of a draft
    assembly) are parsed, validated and encoded a block at a time with a few numpy calls
    (:class:`_BlockRecords`), so 10^6 short records cost little more than their bases; a record
    that crosses a block boundary (a chromosome) is gathered piece by piece as it comes.

    Parameters
    ----------
    path
        FASTA file (plain, gzip, bgzip) or ``"-"`` for standard input.
    chunk_size
        Step between chunk starts (> 0).
    overlap
        Extra bases each chunk carries past its step.
    with_mask
        Also return the soft-mask (lowercase) flags.
    records
        Only these record names (others are read and skipped).
    runs
        Hand on the records of one block that each fit in one chunk (``chunk_size + overlap``
        bases) as :class:`RecordRun` objects, one per stretch of such records, instead of a
        :class:`Chunk` each (the same codes, in the same order; no Python object per record).
    _blocks_from
        The file's bytes, in blocks, instead of reading it from the start (:class:`FaiFasta`).
    """
    if chunk_size <= 0 or overlap < 0:
        raise ValueError("chunk_size must be > 0 and overlap >= 0")
    span = chunk_size + overlap
    # the record that runs on past the current block: its codes from record position `start`
    # are buf[:held] (soft-mask flags mbuf[:held]), decoded block by block as they come
    name: str | None = None
    wanted = False
    buf = mbuf = np.zeros(0, np.uint8)
    held = 0
    start = 0
    emitted = False

    def chunk(a: int, b: int, last: bool) -> Chunk:
        return Chunk(name, start + a, buf[a:b], mbuf[a:b] if with_mask else None, last)

    def move(keep_from: int, room: int) -> None:
        """Codes from ``keep_from`` on into new buffers with ``room`` bytes free after them: the
        chunks handed on view the old ones, which are never written again (a scan's tuned
        allocator hands the freed buffers back without page faults, see ``tune_cpu_allocator``)."""
        nonlocal buf, mbuf, held
        rest = held - keep_from
        size = max(rest + room, span + 2 * BLOCK_SIZE)
        new = np.empty(size, np.uint8)
        new[:rest] = buf[keep_from:held]
        if with_mask:
            newm = np.empty(size, np.bool_)
            newm[:rest] = mbuf[keep_from:held]
            mbuf = newm
        buf, held = new, rest

    def flush_full() -> Iterator[Chunk]:
        nonlocal start, emitted
        pos = 0
        while held - pos > span:
            yield chunk(pos, pos + span, False)
            emitted = True
            pos += chunk_size
        start += pos
        move(pos, 0)

    def close_open() -> Iterator[Chunk]:
        nonlocal name
        if name is not None and wanted:
            yield from flush_full()
            if held or not emitted:
                yield chunk(0, held, True)
        name = None

    def open_record(rec: str) -> None:
        nonlocal name, wanted, buf, mbuf, held, start, emitted
        name, wanted = rec, records is None or rec in records
        buf = mbuf = np.zeros(0, np.uint8)  # the last record's chunks view the old buffers
        held, start, emitted = 0, 0, False

    def add(piece: np.ndarray, uncounted: bool = False) -> Iterator[Chunk]:
        """Decode ``piece`` onto the open record; ``uncounted``: its newlines are not yet in the
        reader's line count (the decoder counts them on its way)."""
        nonlocal held
        if not len(piece) or not wanted:
            if uncounted:
                blocks.count_lines(_count_newlines(piece))
            return
        if held + len(piece) > len(buf):
            move(0, len(piece))
        n, lines = _decode_run(piece, buf[held:], mbuf[held:] if with_mask else None)
        if uncounted:
            blocks.count_lines(lines)
        if n < 0:  # the first byte that is not a base: the error names its record position
            try:
                encode(piece[: -n].tobytes().translate(None, _WHITESPACE), offset=start + held)
            except InputError as exc:
                raise exc.located(path, f"record {name}") from None
        held += n
        if held > span + BLOCK_SIZE:
            yield from flush_full()

    blocks = _BlockRecords(path, with_mask=with_mask, blocks=_blocks_from)
    for part in blocks:
        if len(part.before):  # the open record goes on
            yield from add(part.before, part.uncounted)
        if part.names:
            yield from close_open()
            yield from _short_chunks(part, chunk_size, span, with_mask, records, runs)
        if part.open_name is not None:
            yield from close_open()
            open_record(part.open_name)
            yield from add(part.after, part.uncounted)
    yield from close_open()


def _short_chunks(part: _Block, chunk_size: int, span: int, with_mask: bool, records: set[str] | None,
                  runs: bool = False) -> Iterator[Chunk | RecordRun]:
    """Chunks of the records that begin and end in one block (cut as :func:`stream_chunks` says);
    with ``runs``, every stretch of records no longer than ``span`` as one :class:`RecordRun`."""
    codes, masks = part.codes, part.masks if with_mask else None
    bounds_arr = part.bounds
    if runs:
        # records handed on one by one: those longer than a chunk, and those not wanted
        single = np.diff(bounds_arr) > span
        if records is not None:
            single |= ~np.fromiter((n in records for n in part.names), bool, count=len(part.names))
        at = 0
        for i in np.flatnonzero(single).tolist() + [len(part.names)]:
            if i > at:
                yield RecordRun(part.names[at:i], codes, bounds_arr[at : i + 1], masks)
            if i < len(part.names) and (records is None or part.names[i] in records):
                yield from _record_chunks(part.names[i], codes, masks, int(bounds_arr[i]), int(bounds_arr[i + 1]),
                                          chunk_size, span)
            at = i + 1
        return
    bounds = bounds_arr.tolist()
    for name, a, b in zip(part.names, bounds[:-1], bounds[1:]):
        if records is not None and name not in records:
            continue
        yield from _record_chunks(name, codes, masks, a, b, chunk_size, span)


def _record_chunks(name: str, codes: np.ndarray, masks: np.ndarray | None, a: int, b: int, chunk_size: int,
                   span: int) -> Iterator[Chunk]:
    """Chunks of the record whose codes are ``codes[a:b]``."""
    if b - a <= span:
        yield Chunk(name, 0, codes[a:b], None if masks is None else masks[a:b], True)
        return
    pos = 0
    while b - a - pos > span:
        yield Chunk(name, pos, codes[a + pos : a + pos + span],
                    None if masks is None else masks[a + pos : a + pos + span], False)
        pos += chunk_size
    yield Chunk(name, pos, codes[a + pos : b], None if masks is None else masks[a + pos : b], True)


@dataclass
class _Block:
    """One block of a FASTA file, parsed (see :class:`_BlockRecords`).

    ``before``: sequence bytes (uint8, white space and all: decoded by :func:`stream_chunks` only
    for a record it wants) that continue the record left open by the block before (``before``
    and ``after`` view the read buffer: valid until the next block is asked for).
    ``names``/``codes``/``masks``/``bounds``: the records that begin and end in this block, their
    codes end to end (record ``i`` is ``codes[bounds[i]:bounds[i + 1]]``).
    ``open_name``/``after``: the block's last record, which may go on in the next block, and its
    sequence bytes so far, as ``before`` (``open_name`` is ``None`` when the block holds no header).
    ``uncounted``: the newlines of ``before`` and ``after`` are left for the consumer to count
    (:meth:`_BlockRecords.count_lines`, before it asks for the next block): the decoder counts
    them on its way, so a chromosome's bytes are not read twice.
    """

    before: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    names: list[str] = field(default_factory=list)
    codes: np.ndarray | None = None
    masks: np.ndarray | None = None
    bounds: np.ndarray | None = None
    open_name: str | None = None
    after: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    uncounted: bool = False


class _Names(set):
    """A set of record names; ``unknown``: names outside it may have been seen too."""

    unknown = False


#: A header line's name: its first word (``\s`` is what ``str.split`` splits at).
_NAME = re.compile(r">[^\S\n]*(\S*)[^\n]*\n")
_WS_TABLE = np.zeros(256, dtype=bool)
#: Up to this many '>' bytes a block, header lines are found by bytes.find; more by numpy.
_FEW_HEADERS = 64
_WS_TABLE[np.frombuffer(_WHITESPACE, np.uint8)] = True


class _BlockRecords:
    """A FASTA file read a block at a time, every record wholly inside a block decoded at once.

    Iterating yields :class:`_Block` objects. Header lines are found with numpy (a ``>`` at the
    start of a line), the sequence bytes of the block's complete records are gathered with one
    mask and encoded with one table lookup; only record names are Python objects. Raises
    :class:`InputError` as :func:`iter_fasta_pieces` does (empty file, text before the first
    header, an empty or duplicate record name, a letter that is not an IUPAC code).

    Duplicate names are found by the names' 64-bit hashes (a sorted int64 array: 8 bytes a
    record, where a set of 10^6 names would hold ~100 MB); a hash seen before is then checked
    exactly against the names read again from the start of the file. Where the file cannot be
    read again (standard input, a stream from an offset) a hash seen before is taken for the
    duplicate it almost surely is (two distinct names of 10^6 share a hash with odds ~10^-8).
    """

    def __init__(self, path: str | os.PathLike, *, with_mask: bool = False, blocks: Iterator[bytes] | None = None
                 ) -> None:
        self.path = path
        self.with_mask = with_mask
        self.blocks = blocks  # the file's bytes (default: read from the start)
        self._hashes = np.zeros(0, np.int64)  # sorted hashes of the names read so far
        self._count = 0  # names read so far
        self._lines = 0  # newlines before the current block

    def __iter__(self) -> Iterator[_Block]:
        carry = b""
        at_line_start = True
        any_data = False
        with contextlib.ExitStack() as stack:
            if self.blocks is None:
                fh = stack.enter_context(open_binary(self.path))
                blocks = _blocks_into(fh, self.path)
            else:
                blocks = self.blocks
            for block in blocks:
                if not any_data and block.startswith(BOM):
                    block = block[len(BOM):]  # a UTF-8 byte-order mark (Windows editors) is not text
                any_data = True
                data = carry + block if carry else block
                at_start = at_line_start or bool(carry)
                if not data:
                    continue
                at_line_start = data.endswith(b"\n")
                part, carry = self._parse(data, at_start)
                yield part
            if carry:  # a header line without a newline at the very end of the file
                yield self._parse(carry + b"\n", True)[0]
        if not any_data:
            raise InputError("file is empty", path=self.path, hint="give a FASTA file with at least one record")
        if not self._count:
            raise InputError("no FASTA records found", path=self.path, hint="a record starts with a '>name' line")

    def _parse(self, data: bytes, at_start: bool) -> tuple[_Block, bytes]:
        arr = np.frombuffer(data, np.uint8)
        # '>' bytes: a chromosome's blocks have none or a few (bytes.find finds them at memchr's
        # speed), a draft assembly's block many (numpy, in one pass)
        found: list[int] = []
        k = data.find(b">")
        while k >= 0 and len(found) < _FEW_HEADERS:
            found.append(k)
            k = data.find(b">", k + 1)
        heads = np.flatnonzero(arr == 0x3E) if k >= 0 else np.array(found, np.int64)
        if len(heads):
            prev = arr[np.maximum(heads - 1, 0)] == 0x0A
            if heads[0] == 0:
                prev[0] = at_start
            heads = heads[prev]
        carry = b""
        ends = np.zeros(0, np.int64)
        newlines = None
        lines = None  # newlines in the block, None when left to the consumer (see _Block.uncounted)
        if len(heads) and k < 0:  # a few header lines: each one's end by bytes.find
            ends = np.array([data.find(b"\n", h) for h in heads.tolist()], np.int64)
            if ends[-1] < 0:  # the last header line goes on in the next block
                carry = data[int(heads[-1]):]
                data, arr, heads, ends = data[: int(heads[-1])], arr[: int(heads[-1])], heads[:-1], ends[:-1]
            if len(heads):  # the newlines from the first header line to the last one's end
                lines = _count_newlines(arr[int(heads[0]) : int(ends[-1]) + 1])
        elif len(heads):
            newlines = np.flatnonzero(arr == 0x0A)
            lines = len(newlines)
            at = np.searchsorted(newlines, heads)
            if at[-1] == len(newlines):
                carry = data[int(heads[-1]):]
                data, arr, heads, at = data[: int(heads[-1])], arr[: int(heads[-1])], heads[:-1], at[:-1]
            ends = newlines[at]
        n = len(data)
        part = _Block()
        first = int(heads[0]) if len(heads) else n
        part.before = arr[:first]
        if not self._count and data[:first].translate(None, _WHITESPACE):
            raise InputError("not FASTA: the first line does not start with '>'", path=self.path,
                             where=f"line {self._lines + 1}",
                             hint="give a FASTA file (a '>name' line, then sequence lines)")
        if len(heads):
            # every header line's bytes ('>' to its newline), as one array
            lens = ends - heads + 1
            line_of = np.repeat(np.arange(len(heads)), lens)
            idx = np.arange(len(line_of)) + np.repeat(heads - (np.cumsum(lens) - lens), lens)
            names = self._names(data, arr[idx], heads)
            complete = len(heads) - 1
            if complete:
                part.names = names[:complete]
                part.codes, part.masks, part.bounds = self._records(data, ends[:-1] + 1, heads[1:], part.names)
            part.open_name = names[-1]
            part.after = arr[int(ends[-1]) + 1:]
        # newlines so far, for the line numbers of errors; a block of sequence lines alone is
        # counted as it is decoded (count_lines), not in a pass of its own
        if lines is not None:
            self._lines += lines
        part.uncounted = newlines is None
        return part, carry

    def count_lines(self, n: int) -> None:
        """Add the ``n`` newlines of an ``uncounted`` block's bytes (before the next block is read)."""
        self._lines += n

    def _line(self, data: bytes, pos: int) -> int:
        return self._lines + data.count(b"\n", 0, pos) + 1

    def _names(self, data: bytes, header_bytes: np.ndarray, heads: np.ndarray) -> list[str]:
        """Record names of header lines (``header_bytes``: the lines end to end, each from its '>')."""
        # one decode for every header (the UTF-8 decoder restarts at each newline, so a bad byte
        # is replaced as it would be line by line)
        text = header_bytes.tobytes().decode("utf-8", errors="replace")
        if np.count_nonzero(_WS_TABLE[header_bytes]) == len(heads):  # no white space but the line ends
            names = text[1:-1].split("\n>")  # ('>name\n' lines: a draft assembly's headers, 3x faster)
        else:
            names = _NAME.findall(text)  # the first word of each line (str.split's white space)
        if "" in names:
            h = int(heads[names.index("")])
            raise InputError("record with an empty name", path=self.path, where=f"line {self._line(data, h)}")
        hashes = np.sort(np.fromiter(map(hash, names), np.int64, count=len(names)))
        at = np.searchsorted(self._hashes, hashes)
        if (hashes[1:] == hashes[:-1]).any() or (
                len(self._hashes) and (self._hashes[np.minimum(at, len(self._hashes) - 1)] == hashes).any()):
            self._duplicate(data, names, heads)
        self._hashes = np.insert(self._hashes, at, hashes)
        self._count += len(names)
        return names

    def _duplicate(self, data: bytes, names: list[str], heads: np.ndarray) -> None:
        """Raise for the first name of ``names`` seen before (in the file or in ``names``); return
        when there is none (names whose hashes alone are equal)."""
        seen = self._names_before()
        for name, h in zip(names, heads.tolist()):
            if name in seen or (seen.unknown and hash(name) in self._hashes):
                raise InputError(f"duplicate record name {name!r}", path=self.path,
                                 where=f"line {self._line(data, h)}", hint="record names must be unique")
            seen.add(name)

    def _names_before(self) -> "_Names":
        """The names of the records before this block, read again from the start of the file (or
        an empty set marked ``unknown`` where the file cannot be read again)."""
        seen = _Names()
        if self.blocks is not None or os.fspath(self.path) == "-":
            seen.unknown = True
            return seen
        if self._count:
            for name, _desc, piece in iter_fasta_pieces(self.path):
                if piece is None:
                    seen.add(name)
                    if len(seen) == self._count:
                        break
        return seen

    def _records(self, data: bytes, starts: np.ndarray, stops: np.ndarray, names: list[str]
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Codes (and soft-mask flags) of records whose sequence lines span ``data[starts:stops]``."""
        if len(starts) >= _COMPILED_RECORDS:
            got = _decode_spans(data, starts, stops)
            if got is not None:
                codes, masks, bounds = got
                return codes, masks if self.with_mask else None, bounds
            # a letter that is not a base: the steps below find and name it
        # the records' lines end to end, white space removed by bytes.translate (C, a byte a ns)
        seq = b"".join([data[a:b] for a, b in zip(starts.tolist(), stops.tolist())])
        raw = seq.translate(None, _WHITESPACE)
        # bases per record: its span less the white space in it (every white space byte is <= 0x20)
        arr = np.frombuffer(seq, np.uint8)
        low = np.flatnonzero(arr <= 0x20)
        spans = np.zeros(len(starts) + 1, np.int64)
        np.cumsum(stops - starts, out=spans[1:])
        bounds = spans - np.searchsorted(low[_WS_TABLE[arr[low]]], spans)
        try:
            codes = encode(raw)
        except InputError:
            for i, name in enumerate(names):  # the record and position of the first bad letter
                try:
                    encode(raw[bounds[i] : bounds[i + 1]])
                except InputError as exc:
                    raise exc.located(self.path, f"record {name}") from None
            raise
        return codes, soft_mask(raw) if self.with_mask else None, bounds


#: Blocks with at least this many whole records are decoded by one compiled loop (:func:`_decode_spans`);
#: fewer by a few bytes and numpy calls. (A record that crosses blocks, a chromosome, is decoded by
#: :func:`_decode_run` as its blocks come.)
_COMPILED_RECORDS = 64
#: Per byte: its code, or _SKIP (white space) or INVALID (not a base).
_SKIP = 254
_COMPILED: dict = {}
_NO_MASKS = np.zeros(0, np.bool_)


def _compiled() -> dict:
    """The decoding tables and compiled loops, made (numba imported, the loops loaded from its
    cache) on first use."""
    if "run" not in _COMPILED:
        from ..jit import njit

        table = np.full(256, INVALID, np.uint8)
        for b in range(256):
            if b in _WHITESPACE:
                table[b] = _SKIP
            elif first_invalid(bytes([b])) is None:
                table[b] = encode(bytes([b]))[0]
        _COMPILED["table"] = table
        _COMPILED["lower"] = soft_mask(bytes(range(256)))
        _COMPILED["run"] = njit(_decode_spans_loop)
        _COMPILED["codes"] = njit(_decode_lines(False))
        _COMPILED["masked"] = njit(_decode_lines(True))
        _COMPILED["newlines"] = njit(_count_newlines_loop)
        _COMPILED["gather"] = njit(_gather_plain_loop)
    return _COMPILED


def _decode_run(raw: np.ndarray, codes: np.ndarray, masks: np.ndarray | None) -> tuple[int, int]:
    """Decode sequence bytes ``raw`` (uint8) into ``codes`` (and soft-mask flags into ``masks``),
    white space left out, in one compiled pass; both outputs must hold ``len(raw)``. Returns
    ``(codes, newlines)``: the number of codes, or ``-(i + 1)`` for ``raw[i]``, the first byte
    that is not a base (nothing is raised here; the outputs are then partly written), and the
    newline bytes passed on the way (for the line numbers of errors: no second pass to count them).

    Line by line: once a whole line has been decoded byte by byte, each next stretch of as many
    bytes is decoded without a branch per byte and kept when it holds no white space and no
    invalid byte (the codes are then those of the byte-by-byte path); any other stretch (a
    shorter last line, a line end, a bad byte) goes byte by byte to the end of its line. A line
    of ``ACGTNacgtn`` alone (nearly every line of a genome) is decoded by arithmetic on the
    letters' bits, 64 bytes a step in SIMD registers (~4x the table's speed); one holding other
    IUPAC letters by the table.
    """
    c = _compiled()
    if masks is None:
        return c["codes"](raw, c["table"], c["lower"], codes, _NO_MASKS)
    return c["masked"](raw, c["table"], c["lower"], codes, masks)


def _count_newlines(arr: np.ndarray) -> int:
    """Newline bytes in ``arr`` (uint8), by a compiled loop (bytes.count is ~5x slower)."""
    return int(_compiled()["newlines"](arr))


#: The shortest line that :func:`_decode_run` decodes a line at a time (shorter ones byte by byte).
_MIN_LINE = 8


def _decode_lines(with_mask: bool):
    """The loop of :func:`_decode_run`, writing soft-mask flags into ``masks`` or not: ``with_mask``
    is a constant of the closure, so numba compiles (and caches) each version without the other's
    stores (a runtime flag cost the codes-only loop half again: 0.38 -> 0.60 ms per Mbp)."""

    def loop(raw, table, lower, codes, masks):  # pragma: no cover - compiled
        n = len(raw)
        p = 0
        j = 0
        lines = 0
        width = 0  # bases of the last whole line decoded byte by byte: the next are tried at that width
        at_start = False  # raw[p] begins a line
        wide = 0  # width rounded up to a multiple of 64
        while p < n:
            if width and p + width <= n:
                bad = np.uint8(1)
                if p + wide <= n and j + wide <= len(codes):
                    # ACGTN in either case, by arithmetic, 64 bytes a step (uint8 throughout: SIMD);
                    # the bytes past the line are read and their codes written, but not judged
                    bad = np.uint8(0)
                    for base in range(0, width, 64):
                        line = raw[p + base : p + base + 64]
                        out = codes[j + base : j + base + 64]
                        flags = masks[j + base : j + base + 64]
                        lim = width - base
                        for k in range(64):
                            b = line[k]
                            u = np.uint8(b | np.uint8(32))
                            is_n = np.uint8(u == np.uint8(110))
                            ok = np.uint8(np.uint8(u == np.uint8(97)) | np.uint8(u == np.uint8(99))
                                          | np.uint8(u == np.uint8(103)) | np.uint8(u == np.uint8(116)) | is_n)
                            # A C G T -> 0 1 2 3 from bits 1-2 of the letter; N -> 4
                            x = np.uint8(np.uint8(b >> np.uint8(1)) ^ np.uint8(b >> np.uint8(2)))
                            out[k] = np.uint8(np.uint8(x & np.uint8(3)) | np.uint8(is_n << np.uint8(2)))
                            if with_mask:
                                flags[k] = b == u  # lower case: the letters' 0x20 bit
                            bad = np.uint8(bad | np.uint8(np.uint8(ok ^ np.uint8(1)) & np.uint8(k < lim)))
                if bad:  # other letters (IUPAC codes), or too near the end: by the table
                    m = 0
                    line = raw[p : p + width]  # slices: indices from range() need no negative-index check
                    out = codes[j : j + width]
                    flags = masks[j : j + width]
                    for k in range(width):  # no branch per byte: a bad or white space byte shows in m
                        c = table[line[k]]
                        out[k] = c
                        if with_mask:
                            flags[k] = lower[line[k]]
                        m |= c
                    bad = np.uint8(m >= 254)  # codes are < 8; _SKIP and INVALID set the high bits
                if not bad:
                    p += width
                    j += width
                    while p < n and table[raw[p]] == 254:  # the line end
                        lines += raw[p] == 10
                        p += 1
                    at_start = raw[p - 1] == 10
                    continue
            # byte by byte, to the end of the line
            got = 0
            b = 0
            while p < n:
                b = raw[p]
                c = table[b]
                p += 1
                if c >= 254:
                    if c == 254:  # _SKIP
                        if b == 10:
                            lines += 1
                            break
                        continue
                    return -p, lines  # INVALID
                codes[j] = c
                if with_mask:
                    masks[j] = lower[b]
                j += 1
                got += 1
            if at_start and b == 10 and got >= _MIN_LINE:
                width = got
                wide = -(-width // 64) * 64
            at_start = b == 10
        return j, lines

    return loop


def _count_newlines_loop(arr):  # pragma: no cover - compiled
    n = 0
    for p in range(len(arr)):
        n += arr[p] == 10
    return n


def _decode_spans(data: bytes, starts: np.ndarray, stops: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Codes, soft-mask flags and bounds (int64, ``len(starts) + 1``) of the records whose
    sequence lines are ``data[starts[i]:stops[i]]``, white space left out, in one compiled pass
    (numba, loaded on first use); ``None`` when a byte is not a base (nothing is raised here)."""
    _compiled()
    arr = np.frombuffer(data, np.uint8)
    size = int((stops - starts).sum())
    codes = np.empty(size, np.uint8)
    masks = np.empty(size, np.bool_)
    bounds = np.empty(len(starts) + 1, np.int64)
    n = _COMPILED["run"](arr, starts, stops, _COMPILED["table"], _COMPILED["lower"], codes, masks, bounds)
    return None if n < 0 else (codes[:n], masks[:n], bounds)


def _decode_spans_loop(arr, starts, stops, table, lower, codes, masks, bounds):  # pragma: no cover - compiled
    j = 0
    for i in range(len(starts)):
        bounds[i] = j
        for p in range(starts[i], stops[i]):
            b = arr[p]
            c = table[b]
            if c == 254:  # _SKIP
                continue
            if c == 255:  # INVALID
                return -1
            codes[j] = c
            masks[j] = lower[b]
            j += 1
    bounds[len(starts)] = j
    return j


def _gather_plain_loop(mapped, lut, record, start, span, lengths, offsets, bases, widths, out):  # pragma: no cover - compiled
    """Codes of ranges ``[start, start + span)`` of records ``record`` from a mapped plain FASTA,
    by its ``.fai`` columns, end to end into ``out`` (N off a record's ends); the index in ``out``
    of the first byte that is not a base (or lies past the file's end), or -1. Walks each range along its lines: no division per base."""
    k = 0
    size = len(mapped)
    for r in range(len(start)):
        i = record[r]
        a = start[r]
        b = a + span[r]
        lo = min(max(a, 0), b)
        hi = max(min(b, lengths[i]), lo)
        for _ in range(a, lo):
            out[k] = 4
            k += 1
        if hi > lo:
            lb = bases[i]
            skip = widths[i] - lb
            col = lo % lb
            at = offsets[i] + (lo // lb) * widths[i] + col
            for _ in range(lo, hi):
                if at >= size:  # the file shorter than its index says
                    return k
                c = lut[mapped[at]]
                if c >= 254:  # INVALID, or white space (_SKIP) where the index puts a base
                    return k
                out[k] = c
                k += 1
                at += 1
                col += 1
                if col == lb:
                    col = 0
                    at += skip
        for _ in range(hi, b):
            out[k] = 4
            k += 1
    return -1


class FaiFasta:
    """Records of a plain or bgzip FASTA read through its ``.fai`` alone (no pyfaidx, no per-record
    Python at open): 10^6 scaffolds open in a second. For ``--shard`` of whole genomes.

    ``names``/``lengths``: every record, in file order. :meth:`fetch` reads part of one record;
    :meth:`stream` streams whole records ``first..last`` from the first one's offset, a block at a
    time (:func:`stream_chunks`). A bgzip file is read through its ``.gzi``.

    Raises
    ------
    InputError
        A fetched range whose bytes do not hold the bases the index promises (a file changed
        since it was indexed).
    """

    def __init__(self, path: str | os.PathLike, entries: "_FaiEntries") -> None:
        self.path = Path(path)
        self._entries = entries
        self.names: RecordNames = entries.names
        self.lengths: np.ndarray = entries.lengths
        self._data: _ByteReader | None = None
        self._mapped: np.ndarray | None = None  # the plain file, mapped by ranges() on first use
        self._plain: bool | None = None

    def close(self) -> None:
        if self._data is not None:
            self._data.__exit__()
            self._data = None
        self._mapped = None

    @classmethod
    def open(cls, path: str | os.PathLike) -> "FaiFasta | None":
        """From a current ``.fai`` (built when missing, as :func:`fasta_sizes` does); ``None``
        where there is none (standard input, plain gzip, a file htslib cannot index)."""
        entries = _read_fai_entries(path)
        if entries is None and fasta_sizes(path) is not None:
            entries = _read_fai_entries(path)
        return None if entries is None else cls(path, entries)

    def _raw(self, i: int, start: int, end: int) -> bytes:
        name, length, offset, bases, width = self._entries[i]
        if end <= start:
            return b""
        b0 = offset + (start // bases) * width + start % bases
        b1 = offset + ((end - 1) // bases) * width + (end - 1) % bases + 1
        if self._data is None:
            self._data = _ByteReader(self.path)
        raw = self._data.read(b0, b1 - b0).translate(None, _WHITESPACE)
        if len(raw) != end - start:
            raise InputError(f"record {name} does not hold the bases its index says", path=self.path,
                             hint="the file changed since it was indexed: delete its .fai and run again")
        return raw

    def fetch(self, i: int, start: int, end: int, *, with_mask: bool = False
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """Codes (and soft-mask flags) of record ``i``'s positions ``[start, end)``."""
        raw = self._raw(i, start, end)
        try:
            codes = encode(raw, offset=start)
        except InputError as exc:
            raise exc.located(self.path, f"record {self.names[i]}") from None
        return codes, soft_mask(raw) if with_mask else None

    def windows(self, record: np.ndarray, start: np.ndarray, length: int) -> np.ndarray:
        """Codes ``(n, length)`` of records ``record`` ``(n,)`` from positions ``start`` ``(n,)``
        (:meth:`ranges` of one length); positions off a record's ends read as N."""
        start = np.asarray(start, dtype=np.int64)
        return self.ranges(record, start, start + length).reshape(len(start), length)

    def ranges(self, record: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Codes of records ``record`` ``(n,)``, positions ``[start, end)`` ``(n,)`` each, end to end.

        Positions off a record's ends read as N. Many short ranges at once: in a plain FASTA each
        base's byte offset comes from the ``.fai`` columns and all are gathered from the mapped
        file in one pass (no read call per range: 10^4 windows scattered over a genome cost
        milliseconds, not the 40 us each of a seek and read through pyfaidx); a bgzip FASTA is
        read range by range.
        """
        record = np.asarray(record, dtype=np.int64)
        start = np.asarray(start, dtype=np.int64)
        span = np.asarray(end, dtype=np.int64) - start
        total = int(span.sum())
        first = np.cumsum(span) - span
        if self._plain is None:  # once, not a file open per call
            self._plain = compression(self.path) == "plain"
        if not self._plain:
            out = np.full(total, N_CODE, dtype=np.uint8)
            for i, a, b, at in zip(record.tolist(), start.tolist(), (start + span).tolist(), first.tolist()):
                lo, hi = max(a, 0), min(b, int(self.lengths[i]))
                if hi > lo:
                    out[at + lo - a : at + hi - a] = self.fetch(i, lo, hi)[0]
            return out
        e = self._entries
        if self._mapped is None:
            self._mapped = np.memmap(self.path, dtype=np.uint8, mode="r")
        out = np.empty(total, dtype=np.uint8)
        c = _compiled()
        bad = c["gather"](self._mapped, c["table"], record, start, span, e.lengths, e.offsets, e.bases, e.widths, out)
        if bad >= 0:  # a line end, a header or a stray byte where the index puts a base (or past the end)
            r = int(np.searchsorted(first, bad, side="right")) - 1
            rec, pos = int(record[r]), int(start[r] + bad - first[r])
            at = int(e.offsets[rec] + (pos // e.bases[rec]) * e.widths[rec] + pos % e.bases[rec])
            if at >= len(self._mapped):
                raise InputError(f"record {self.names[rec]} does not hold the bases its index says", path=self.path,
                                 hint="the file changed since it was indexed: delete its .fai and run again")
            byte = int(self._mapped[at])
            raise InputError(f"record {self.names[rec]}, position {pos + 1}: byte "
                             f"{bytes([byte])!r} where the index puts a base", path=self.path,
                             hint="the file changed since it was indexed (delete its .fai and run again), or holds a "
                                  "letter that is not a nucleotide code")
        return out

    def stream(self, first: int, last: int, chunk_size: int, overlap: int, *, with_mask: bool = False,
               runs: bool = False) -> Iterator[Chunk | RecordRun]:
        """Chunks of whole records ``first..last`` (as :func:`stream_chunks` cuts them, with
        ``runs`` as it hands them on), read from record ``first``'s offset; stops after record
        ``last``."""
        if last < first:
            return
        # stop at record `last` by its name (an empty record, which the .fai leaves out, may lie between)
        end_name = self.names[last]

        def blocks() -> Iterator[bytes]:
            yield b">" + self.names[first].encode() + b"\n"
            with _ByteReader(self.path) as data:
                pos = self._entries[first][2]
                while True:
                    block = data.read(pos, BLOCK_SIZE)
                    if not block:
                        return
                    yield block
                    pos += len(block)

        chunks = stream_chunks(self.path, chunk_size, overlap, with_mask=with_mask, runs=runs,
                               _blocks_from=blocks())
        try:
            for ch in chunks:
                if isinstance(ch, RecordRun):
                    if end_name in ch.names:
                        yield ch.head(ch.names.index(end_name) + 1)
                        return
                    yield ch
                    continue
                yield ch
                if ch.last and ch.name == end_name:
                    return
        finally:
            chunks.close()


class IndexedFasta:
    """Random access to a plain or bgzip FASTA through pyfaidx (builds ``.fai``/``.gzi`` once).

    Parameters
    ----------
    path
        The genome FASTA.

    Raises
    ------
    InputError
        File missing, plain gzip (cannot be indexed: the message shows the bgzip fix), duplicate
        record names, or an index that cannot be built.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("genome file not found", path=self.path)
        kind = compression(self.path)
        if kind == "gzip":
            raise InputError(
                "plain gzip cannot be indexed for random access",
                path=self.path,
                hint=BGZIP_HINT,
            )
        if _starts_with_bom(self.path, kind):
            raise InputError("starts with a UTF-8 byte-order mark, which FASTA index tools (samtools, pyfaidx) reject",
                             path=self.path, where="line 1",
                             hint="remove it (sed -i '1s/^\\xEF\\xBB\\xBF//' FILE), or scan the whole file without "
                                  "--chrom/--regions")
        index: dict[str, str] = {}  # pyfaidx's index file names, when not beside the FASTA
        self._private: str | None = None
        self._fai: FaiFasta | None = None  # opened by windows(), for many short reads at once
        self._fai_ids: dict[str, int] = {}
        if read_fai(self.path) is None and not build_fai(self.path) and (
                _index_exists(self.path) or not os.access(self.path.absolute().parent, os.W_OK)):
            # htslib builds the index in C, many times faster than pyfaidx's line-by-line Python
            # (which stays the fallback: it explains what is wrong with a file htslib rejects).
            # An index beside the FASTA that does not match it and cannot be rewritten (a
            # read-only folder) must not be used: pyfaidx would trust it by its date; and with no
            # index at all in a read-only folder, pyfaidx could not write one there.
            import tempfile

            self._private = tempfile.mkdtemp(prefix="motifscan-fai-")
            index = {"indexname": os.path.join(self._private, "index.fai"),
                     "gzi_indexname": os.path.join(self._private, "index.gzi")}
            if _index_exists(self.path):
                log.warning("%s.fai does not match %s and cannot be rebuilt there: indexing it in a temporary "
                            "folder for this run", self.path, self.path.name)
            else:
                log.info("%s: its folder is read-only, so it is indexed in a temporary folder for this run",
                         self.path)
        try:
            self._fa = self._open(index)
        except BaseException:
            self._drop_private()
            raise
        self.sizes: dict[str, int] = {k: len(v) for k, v in self._fa.records.items()}

    def _open(self, index: dict[str, str]):
        import pyfaidx

        try:
            return pyfaidx.Fasta(
                str(self.path),
                sequence_always_upper=False,
                as_raw=True,
                rebuild=True,  # an index older than its FASTA is stale: rebuild it, never trust it
                build_index=True,
                **index,
            )
        except pyfaidx.UnsupportedCompressionFormat:
            raise InputError("cannot be indexed", path=self.path, hint=BGZIP_HINT) from None
        except ValueError as exc:
            msg = str(exc)
            if "uplicate" in msg:
                raise InputError(
                    f"duplicate record names ({msg})", path=self.path, hint="record names must be unique"
                ) from None
            raise InputError(f"cannot index FASTA: {msg}", path=self.path) from None
        except (EOFError, struct.error, zlib.error) as exc:  # raised by Bio.bgzf on a cut-off file
            raise _corrupt(exc, self.path) from None
        except (OSError, pyfaidx.FastaIndexingError, RuntimeError) as exc:
            raise InputError(
                f"cannot index FASTA: {exc}",
                path=self.path,
                hint="check the file is FASTA with consistent line lengths, and its folder is writable for the index",
            ) from None

    def _drop_private(self) -> None:
        if self._private is not None:
            import shutil

            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    def __contains__(self, chrom: str) -> bool:
        return chrom in self.sizes

    def fetch(self, chrom: str, start: int, end: int, *, skip_masked: bool = False) -> np.ndarray:
        """Codes of ``chrom[start:end]`` (0-based, half-open); soft-masked bases as N with ``skip_masked``."""
        if chrom not in self.sizes:
            raise InputError(f"no sequence named {chrom!r} in the genome", path=self.path)
        if not 0 <= start <= end <= self.sizes[chrom]:
            raise InputError(
                f"{chrom}:{start}-{end} is outside the sequence (length {self.sizes[chrom]})",
                path=self.path,
            )
        raw = self.fetch_raw(chrom, start, end)
        try:
            codes = encode(raw, offset=start)
        except InputError as exc:
            raise exc.located(self.path, f"record {chrom}") from None
        if skip_masked:
            codes[soft_mask(raw)] = N_CODE
        return codes

    def windows(self, chroms: Sequence[str], start: np.ndarray, length: int) -> np.ndarray:
        """Codes ``(n, length)`` of ``chroms[i][start[i] : start[i] + length]``; N off a record's ends."""
        start = np.asarray(start, dtype=np.int64)
        return self.ranges(chroms, start, start + length).reshape(len(start), length)

    def ranges(self, chroms: Sequence[str], start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Codes of ``chroms[i][start[i] : end[i]]`` end to end; N off a record's ends.

        Many short reads at once (:meth:`FaiFasta.ranges`: one gather from the mapped file of a
        plain FASTA); range by range through pyfaidx when the index is not beside the file.
        """
        start = np.asarray(start, dtype=np.int64)
        end = np.asarray(end, dtype=np.int64)
        if self._fai is None and self._private is None:
            self._fai = FaiFasta.open(self.path)
            self._fai_ids = {name: i for i, name in enumerate(self._fai.names)} if self._fai is not None else {}
        if self._fai is not None:
            ids = np.fromiter(map(self._fai_ids.__getitem__, chroms), dtype=np.int64, count=len(start))
            return self._fai.ranges(ids, start, end)
        out = np.full(int((end - start).sum()), N_CODE, dtype=np.uint8)
        at = 0
        for c, a, b in zip(chroms, start.tolist(), end.tolist()):
            lo, hi = max(a, 0), min(b, self.sizes[c])
            if hi > lo:
                out[at + lo - a : at + hi - a] = self.fetch(c, lo, hi)
            at += b - a
        return out

    def fetch_raw(self, chrom: str, start: int, end: int) -> str:
        """The sequence text of ``chrom[start:end]``, case kept."""
        try:
            return self._fa[chrom][start:end]
        except (EOFError, struct.error, zlib.error) as exc:  # file cut off after its index was built
            raise InputError(
                f"compressed data is truncated or corrupt ({exc})",
                path=self.path,
                where=f"record {chrom}",
                hint="download or compress the file again, and delete its old .fai/.gzi index",
            ) from None

    def close(self) -> None:
        self._fa.close()
        if self._fai is not None:
            self._fai.close()
        self._drop_private()

    def __enter__(self) -> "IndexedFasta":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _index_exists(path: Path) -> bool:
    return any(Path(str(path) + ext).exists() for ext in (".fai", ".gzi"))


def _starts_with_bom(path: Path, kind: str) -> bool:
    try:
        with (gzip.open(path, "rb") if kind != "plain" else open(path, "rb")) as fh:
            return fh.read(3) == BOM
    except (OSError, EOFError, zlib.error):
        return False  # a damaged file: reading it says what is wrong


class RecordSizes(Mapping):
    """Record name -> length, in file order, held as the names (a list, or the ``.fai``'s
    :class:`~motifscan.io.names.RecordNames`: one buffer) and an int64 array.

    A read-only mapping like the dict it stands for (``items()``, ``values()``, lookups), for
    10^6 scaffolds at a small part of a dict's memory (~35 MB with RecordNames): the name -> row
    index that lookups need is built on the first lookup (a streamed scan makes none). ``names``
    and ``lengths`` are the columns.
    """

    def __init__(self, names: Sequence[str], lengths: np.ndarray) -> None:
        self.names = names
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self._row: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __getitem__(self, name: str) -> int:
        if self._row is None:
            self._row = {n: i for i, n in enumerate(self.names)}
        return int(self.lengths[self._row[name]])

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def items(self) -> ItemsView:
        return _SizeItems(self)

    def values(self) -> ValuesView:
        return _SizeValues(self)

    def __repr__(self) -> str:
        return f"RecordSizes({len(self)} records)"


class _SizeItems(ItemsView):
    def __iter__(self):
        return zip(self._mapping.names, self._mapping.lengths.tolist())


class _SizeValues(ValuesView):
    def __iter__(self):
        return iter(self._mapping.lengths.tolist())


def read_fai(path: str | os.PathLike) -> RecordSizes | None:
    """Record sizes from an existing ``PATH.fai`` that matches the FASTA, else ``None``.

    An index older than its FASTA is stale; so is a newer one that does not describe the file
    (a genome replaced by an older-dated download keeps the old index's look of being current):
    see :func:`fai_matches`. A stale index is logged and ignored, and callers rebuild it.
    """
    entries = _read_fai_entries(path)
    return None if entries is None else RecordSizes(entries.names, entries.lengths)


def fai_total(path: str | os.PathLike) -> int | None:
    """Bases in a FASTA by its current ``PATH.fai`` (see :func:`read_fai`), else ``None``."""
    entries = _read_fai_entries(path)
    return None if entries is None else int(entries.lengths.sum())


def _read_fai_entries(path: str | os.PathLike) -> "_FaiEntries | None":
    """The rows of a current ``PATH.fai`` (see :func:`read_fai`), else ``None``."""
    p = Path(path)
    fai = Path(str(p) + ".fai")
    try:
        if not fai.exists() or fai.stat().st_mtime < p.stat().st_mtime:
            return None
        entries = _parse_fai(fai.read_bytes())
        if not entries or not fai_matches(p, entries):
            log.info("%s does not match %s (a stale index): not using it", fai, p.name)
            return None
        return entries
    except (OSError, ValueError):
        return None


class _FaiEntries:
    """The rows of a ``.fai``: ``names`` (:class:`~motifscan.io.names.RecordNames`) and int64
    columns ``lengths``, ``offsets``, ``bases``, ``widths`` (four arrays); ``entries[i]`` is row
    ``i`` as a tuple ``(name, length, offset, line bases, line bytes)`` (what :func:`fai_matches`
    reads)."""

    def __init__(self, names: RecordNames, columns: Sequence[np.ndarray]) -> None:
        self.names = names
        self.lengths, self.offsets, self.bases, self.widths = columns

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> tuple[str, int, int, int, int]:
        return (self.names[i], int(self.lengths[i]), int(self.offsets[i]), int(self.bases[i]), int(self.widths[i]))


#: ``.fai`` rows parsed per step by the numpy parser (bounds the temporary arrays of a 10^6-row index).
_FAI_ROWS = 1 << 16


def _parse_fai(raw: bytes) -> _FaiEntries:
    """Parse ``.fai`` text: 10^6 rows in two compiled passes (numba, loaded on first use).

    Each row is a name (one word) and four numbers, tab-separated; a row with other than five
    columns (a FASTQ index has six), a name holding white space, or a number that is not an
    integer raises ValueError. The compiled pass takes rows as htslib writes them (digits only,
    LF or CRLF); other text goes to :func:`_parse_fai_numpy`, which accepts and refuses as this
    parser always did. The names are kept as they are in the file, in one buffer
    (:class:`~motifscan.io.names.RecordNames`: no ``str`` per name, ~70 MB at 10^6 names), the
    numbers as four separate arrays (a caller keeps the lengths alone).
    """
    if raw and not raw.endswith(b"\n"):
        raw += b"\n"
    arr = np.frombuffer(raw, np.uint8)
    if "fai" not in _COMPILED:
        from ..jit import njit

        _COMPILED["fai"] = (njit(_fai_count_loop), njit(_fai_rows_loop), njit(_fai_names_loop))
    count_loop, rows_loop, names_loop = _COMPILED["fai"]
    rows, name_bytes = count_loop(arr)
    columns = [np.empty(rows, np.int64) for _ in range(4)]
    blob = bytearray(name_bytes + rows)  # each name and a newline, written in place
    starts = np.empty(rows + 1, np.int64)
    starts[0] = 0
    if rows and rows_loop(arr, _WS_TABLE, *columns, np.frombuffer(blob, np.uint8), starts) != rows:
        table, spans = _parse_fai_numpy(arr, rows)
        columns = [table[k].copy() for k in range(4)]
        sizes = spans[1] - spans[0]
        np.cumsum(sizes + 1, out=starts[1:])
        blob = bytearray(int(starts[-1]))
        names_loop(arr, spans[0], sizes, starts, np.frombuffer(blob, np.uint8))
    if not blob.isascii():  # as decoding with errors="replace" leaves them (a name holds no newline)
        blob = blob.decode("utf-8", errors="replace").encode()
        starts = np.r_[0, np.flatnonzero(np.frombuffer(blob, np.uint8) == 0x0A) + 1].astype(np.int64)
    return _FaiEntries(RecordNames(blob, starts), columns)


def _fai_count_loop(arr):  # pragma: no cover - compiled
    """Rows (newlines) of ``.fai`` text and the bytes before each row's first tab, all rows."""
    rows = 0
    names = 0
    in_name = True
    for b in arr:
        if b == 10:
            rows += 1
            in_name = True
        elif b == 9:
            in_name = False
        elif in_name:
            names += 1
    return rows, names


def _fai_rows_loop(arr, ws, lengths, offsets, bases, widths, blob, starts):  # pragma: no cover - compiled
    """Rows ``name\\tD\\tD\\tD\\tD`` (digits only, up to 18 each; LF or CRLF): their numbers into
    the four columns, their names (each with a newline) into ``blob`` from ``starts[row]``;
    returns how many rows took that form (the parse stops at the first that does not)."""
    n = len(arr)
    p = 0
    row = 0
    at = 0
    while p < n:
        start = p
        b = arr[p]
        while b != 9:  # the name: up to the first tab, no white space
            if ws[b]:
                return row
            blob[at] = b
            at += 1
            p += 1
            if p >= n:
                return row
            b = arr[p]
        if p == start:
            return row
        blob[at] = 10
        at += 1
        starts[row + 1] = at
        for k in range(4):
            p += 1  # past the tab before the number
            v = 0
            q = p
            while p < n:
                d = np.int64(arr[p]) - 48
                if d < 0 or d > 9:
                    break
                v = v * 10 + d
                p += 1
            if p == q or p - q > 18 or p >= n:
                return row
            if k == 0:
                lengths[row] = v
            elif k == 1:
                offsets[row] = v
            elif k == 2:
                bases[row] = v
            else:
                widths[row] = v
            c = arr[p]
            if k < 3:
                if c != 9:
                    return row
            elif c == 13 and p + 1 < n and arr[p + 1] == 10:
                p += 1
            elif c != 10:
                return row
        p += 1  # past the newline
        row += 1
    return row


def _fai_names_loop(arr, firsts, sizes, starts, out):  # pragma: no cover - compiled
    """Each name's bytes and a newline, end to end into ``out`` (name ``i`` from ``starts[i]``)."""
    for i in range(len(firsts)):
        a = firsts[i]
        b = starts[i]
        for k in range(sizes[i]):
            out[b + k] = arr[a + k]
        out[b + sizes[i]] = 10


def _parse_fai_numpy(arr: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns ``(4, rows)`` and name spans ``(2, rows)`` of ``.fai`` text ending in a newline, with
    numpy, 65,536 rows a step (the text :func:`_parse_fai`'s compiled pass does not take)."""
    newlines = np.flatnonzero(arr == 0x0A)
    spans = np.empty((2, rows), np.int64)  # each row's first byte and first tab
    columns = np.empty((4, rows), np.int64)
    for first in range(0, len(newlines), _FAI_ROWS):
        ends = newlines[first : first + _FAI_ROWS]
        lo = int(newlines[first - 1]) + 1 if first else 0
        text = arr[lo : int(ends[-1]) + 1]
        starts = np.r_[0, ends[:-1] + 1 - lo]
        ends = ends - lo
        tabs = np.flatnonzero(text == 0x09)
        n = len(ends)
        if len(tabs) != 4 * n:
            raise ValueError("not a five-column .fai")
        tabs = tabs.reshape(n, 4)
        # a row's four tabs lie in it, and every column has something in it (a line end may be CRLF)
        stops = np.c_[tabs, ends - (text[np.maximum(ends - 1, 0)] == 0x0D)]
        if not ((tabs[:, 0] > starts).all() and (np.diff(stops, axis=1) > 1).all()):
            raise ValueError("not a five-column .fai")
        # names: the bytes before each row's first tab
        inside = np.zeros(len(text) + 1, np.int8)
        inside[starts] = 1
        inside[tabs[:, 0]] = -1
        name = np.cumsum(inside[:-1], dtype=np.int8).astype(bool)
        if _WS_TABLE[text[name]].any():
            raise ValueError("a .fai name with white space")
        columns[:, first : first + n] = _fai_numbers(text[~name].tobytes(), n)
        spans[0, first : first + n] = starts + lo
        spans[1, first : first + n] = tabs[:, 0] + lo
    return columns, spans


def _fai_numbers(text: bytes, rows: int) -> np.ndarray:
    """``(4, rows)`` int64: the four numbers of each row of ``text`` (rows without their names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (and stops) at a byte that is not part of a number
        try:
            values = np.fromstring(text, dtype=np.int64, sep=" ")  # white space of any kind separates
        except (ValueError, DeprecationWarning):
            raise ValueError("a .fai number is not an integer") from None
    if len(values) != 4 * rows:
        raise ValueError("not a five-column .fai")
    return values.reshape(rows, 4).T


#: How many records' offsets :func:`fai_matches` checks (the first, the last and some between).
FAI_CHECKED_RECORDS = 8


def fai_matches(path: str | os.PathLike, entries: Sequence[tuple[str, int, int, int, int]]) -> bool:
    """Whether ``.fai`` entries ``(name, length, offset, line bases, line bytes)`` describe ``path``.

    A cheap check (a few small reads, whatever the genome's size): the last record's sequence
    ends where the file ends (only white space after it), and for a few records (the first, the
    last and some between) the offset begins right after their ``>name`` header line and the
    first sequence line has the length the index says. A bgzip file is read through its ``.gzi``
    (a missing or mismatched one fails the check, and both are rebuilt).
    """
    try:
        with _ByteReader(Path(path)) as data:
            last = (entries[int(np.argmax(entries.offsets))] if isinstance(entries, _FaiEntries)
                    else max(entries, key=lambda e: e[2]))
            end = _sequence_end(last)
            tail = data.read(end, 4097)
            if data.size < end or len(tail) > 4096 or tail.strip(_WHITESPACE):
                return False
            k = len(entries)
            picks = sorted({0, k - 1, *(i * k // FAI_CHECKED_RECORDS for i in range(FAI_CHECKED_RECORDS))})
            return all(_record_matches(data, entries[i]) for i in picks)
    except (OSError, ValueError, EOFError, zlib.error, struct.error):
        return False


def _sequence_end(entry: tuple[str, int, int, int, int]) -> int:
    """Byte offset just past the last base of an indexed record."""
    _, length, offset, bases, width = entry
    if bases <= 0 or length <= 0:
        return offset
    return offset + ((length - 1) // bases) * width + (length - 1) % bases + 1


def _record_matches(data: "_ByteReader", entry: tuple[str, int, int, int, int]) -> bool:
    name, length, offset, bases, width = entry
    before = data.read(max(0, offset - (1 << 16)), min(offset, 1 << 16))
    if not before.endswith(b"\n"):
        return False
    header = before[: -1].rsplit(b"\n", 1)[-1].rstrip(b"\r")
    if header.startswith(BOM):
        header = header[len(BOM):]
    words = header[1:].split(None, 1)
    if not header.startswith(b">") or not words or words[0] != name.encode():
        return False
    if length > bases > 0:  # a full first line: `bases` letters, then the line end
        line = data.read(offset, width)
        return b"\n" not in line[:bases] and line[bases:] == (b"\n" if width - bases == 1 else b"\r\n")
    return True


class _ByteReader:
    """Random reads of a plain or bgzip file's (uncompressed) bytes; ``size`` is their count.

    A bgzip file is read block by block through its ``.gzi`` (the uncompressed offset of every
    block), without pyfaidx or htslib, so a stale ``.gzi`` is found rather than trusted.
    """

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "rb")
        try:
            self._open(path)
        except BaseException:
            self._fh.close()
            raise

    def _open(self, path: Path) -> None:
        self._bgzip = compression(path) == "bgzip"
        if not self._bgzip:
            self.size = os.fstat(self._fh.fileno()).st_size
            return
        raw = Path(str(path) + ".gzi").read_bytes()
        (n,) = struct.unpack_from("<Q", raw)
        if len(raw) != 8 + 16 * n:
            raise ValueError("bad .gzi size")
        pairs = np.frombuffer(raw, dtype="<u8", offset=8).reshape(n, 2)
        self._blocks = np.vstack([[[0, 0]], pairs]).astype(np.int64)  # (compressed, uncompressed) starts
        c_last, u_last = self._blocks[-1]
        self.size = int(u_last) + len(self._inflate_from(int(c_last), 1 << 62))

    def _block(self, c_off: int) -> tuple[bytes, int]:
        """The uncompressed bytes of the BGZF block at ``c_off`` and the next block's offset."""
        self._fh.seek(c_off)
        head = self._fh.read(18)
        if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
            raise ValueError(f"no BGZF block at {c_off}")
        size = struct.unpack_from("<H", head, 16)[0] + 1
        body = self._fh.read(size - 18)
        return zlib.decompress(body[:-8], -15), c_off + size

    def _inflate_from(self, c_off: int, limit: int) -> bytes:
        out, got = [], 0
        while got < limit:
            self._fh.seek(c_off)
            if not self._fh.read(1):
                break
            data, c_off = self._block(c_off)
            out.append(data)
            got += len(data)
        return b"".join(out)

    def read(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes from uncompressed ``offset`` (fewer at the end of the file)."""
        if not self._bgzip:
            self._fh.seek(offset)
            return self._fh.read(n)
        k = int(np.searchsorted(self._blocks[:, 1], offset, side="right")) - 1
        c_off, u_off = (int(v) for v in self._blocks[k])
        data = self._inflate_from(c_off, offset - u_off + n)
        return data[offset - u_off : offset - u_off + n]

    def __enter__(self) -> "_ByteReader":
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()


def build_fai(path: str | os.PathLike) -> bool:
    """Build ``PATH.fai`` (and ``PATH.gzi`` for bgzip) with htslib (``samtools faidx``, in C).

    One pass over the file at disk / decompression speed (see ``benchmarks/genome_bench.py``).
    Returns False, leaving no index, when htslib cannot index it (plain gzip, uneven line
    lengths, a read-only folder); callers then fall back (pyfaidx's messages, or no sizes).
    """
    import pysam

    p = Path(path)
    made = [Path(str(p) + ext) for ext in (".fai", ".gzi")]
    before = {m: m.exists() for m in made}
    # the duplicate warning needs htslib's warnings on (another reader may have turned them off)
    verbosity = pysam.set_verbosity(3)
    try:
        with _stderr_captured() as warned:
            pysam.faidx(str(p))
        # htslib indexes the first of two records with one name and only warns: refuse it
        if "uplicate" in warned[0]:
            raise OSError(warned[0].strip())
    except (pysam.SamtoolsError, OSError) as exc:
        log.debug("htslib could not index %s: %s", p, exc)
        for m in made:  # a half-written index of this call would be taken for a good one
            if not before[m]:
                with contextlib.suppress(OSError):  # a read-only folder: nothing was written to remove
                    m.unlink(missing_ok=True)
        return False
    finally:
        pysam.set_verbosity(verbosity)
    return read_fai(p) is not None


@contextlib.contextmanager
def _stderr_captured() -> Iterator[list[str]]:
    """Capture what C code writes to file descriptor 2 (htslib's warnings) into ``[text]``."""
    import tempfile

    out = [""]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out[0] = tmp.read().decode(errors="replace")


def fasta_sizes(path: str | os.PathLike, *, build: bool = True) -> RecordSizes | None:
    """Record sizes of a FASTA from its ``.fai`` index, built when missing (plain or bgzip).

    Returns ``None`` where no index can be had: standard input, plain gzip, a file htslib cannot
    index, or ``build=False`` and no current index.
    """
    if os.fspath(path) == "-":
        return None
    sizes = read_fai(path)
    if sizes is not None or not build:
        return sizes
    try:
        if compression(path) == "gzip":
            return None
    except OSError:
        return None
    if not build_fai(path):
        return None
    log.info("indexed %s (%s.fai)", path, Path(path).name)
    return read_fai(path)
