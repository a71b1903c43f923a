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
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from ..codes import encode, soft_mask
from ..errors import InputError

__all__ = [
    "FastaRecord",
    "Chunk",
    "compression",
    "open_binary",
    "iter_fasta_pieces",
    "read_fasta",
    "stream_chunks",
    "IndexedFasta",
    "BGZIP_HINT",
    "read_fai",
    "build_fai",
    "fasta_sizes",
]


log = logging.getLogger("motifscan")

BLOCK_SIZE = 1 << 22
_WHITESPACE = b" \t\r\n\x0b\x0c"
BGZIP_HINT = "recompress it with bgzip (zcat FILE.gz | bgzip -c > FILE.fa.gz) or decompress it"


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record: its name (first word of the header), uint8 codes and description."""

    name: str
    codes: np.ndarray
    description: str = ""

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
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


def _blocks(fh: BinaryIO, path) -> Iterator[bytes]:
    try:
        while True:
            block = fh.read(BLOCK_SIZE)
            if not block:
                return
            yield block
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"compressed data is truncated or corrupt ({exc})",
            path=path,
            hint="download or compress the file again",
        ) from None


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
) -> Iterator[Chunk]:
    """Stream every record as overlapping chunks of codes, in bounded memory.

    Chunk ``k`` of a record covers positions ``[k * chunk_size, k * chunk_size + chunk_size +
    overlap)`` (clipped at the record's end), so anything that needs ``overlap + 1`` consecutive
    bases lies wholly inside exactly one chunk's first ``chunk_size`` starting positions. A
    record shorter than one chunk comes as one chunk (also an empty record, with no codes).

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
    """
    if chunk_size <= 0 or overlap < 0:
        raise ValueError("chunk_size must be > 0 and overlap >= 0")
    span = chunk_size + overlap
    name = None
    pieces: list[bytes] = []
    held = 0
    start = 0
    emitted = False

    def make(raw: bytes, pos: int, last: bool) -> Chunk:
        try:
            codes = encode(raw, offset=pos)
        except InputError as exc:
            raise exc.located(path, f"record {name}") from None
        return Chunk(name, pos, codes, soft_mask(raw) if with_mask else None, last)

    def flush_full() -> Iterator[Chunk]:
        nonlocal pieces, held, start, emitted
        buf = b"".join(pieces)
        pos = 0
        while len(buf) - pos > span:
            yield make(buf[pos : pos + span], start, False)
            emitted = True
            pos += chunk_size
            start += chunk_size
        rest = buf[pos:]
        pieces, held = [rest], len(rest)

    def flush_last() -> Iterator[Chunk]:
        buf = b"".join(pieces)
        if buf or not emitted:
            yield make(buf, start, True)

    for rec_name, _desc, piece in iter_fasta_pieces(path):
        if piece is None:
            if name is not None:
                yield from flush_full()
                yield from flush_last()
            name = rec_name if (records is None or rec_name in records) else None
            pieces, held, start, emitted = [], 0, 0, False
            continue
        if name is None:
            continue
        pieces.append(piece)
        held += len(piece)
        if held > span + BLOCK_SIZE:
            yield from flush_full()
    if name is not None:
        yield from flush_full()
        yield from flush_last()


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
        import pyfaidx

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
        self._private: tempfile.TemporaryDirectory | None = None
        indexed = self.path
        if read_fai(self.path) is None:
            # htslib builds the index in C, many times faster than pyfaidx's line-by-line Python
            # (which stays the fallback: it explains what is wrong with a file htslib rejects)
            if not build_fai(self.path) and not os.access(self.path.absolute().parent, os.W_OK):
                indexed = self._index_privately()
        try:
            self._fa = pyfaidx.Fasta(
                str(indexed),
                sequence_always_upper=False,
                as_raw=True,
                rebuild=True,  # an index older than its FASTA is stale: rebuild it, never trust it
                build_index=True,
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
            raise InputError(
                f"compressed data is truncated or corrupt ({exc})",
                path=self.path,
                hint="download or compress the file again",
            ) from None
        except (OSError, pyfaidx.FastaIndexingError, RuntimeError) as exc:
            raise InputError(
                f"cannot index FASTA: {exc}",
                path=self.path,
                hint="check the file is FASTA with consistent line lengths, and its folder is writable for the index",
            ) from None
        self.sizes: dict[str, int] = {k: len(v) for k, v in self._fa.records.items()}

    def _index_privately(self) -> Path:
        """Index a link to the FASTA in a temporary folder of this run (the genome's folder is read-only)."""
        self._private = tempfile.TemporaryDirectory(prefix="motifscan-index-")
        link = Path(self._private.name) / self.path.name
        link.symlink_to(self.path.absolute())
        build_fai(link)
        log.info("%s: its folder is read-only, so its index is kept in a temporary folder for this run", self.path)
        return link

    def __contains__(self, chrom: str) -> bool:
        return chrom in self.sizes

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Codes of ``chrom[start:end]`` (0-based, half-open)."""
        if chrom not in self.sizes:
            raise InputError(f"no sequence named {chrom!r} in the genome", path=self.path)
        if not 0 <= start <= end <= self.sizes[chrom]:
            raise InputError(
                f"{chrom}:{start}-{end} is outside the sequence (length {self.sizes[chrom]})",
                path=self.path,
            )
        raw = self.fetch_raw(chrom, start, end)
        try:
            return encode(raw, offset=start)
        except InputError as exc:
            raise exc.located(self.path, f"record {chrom}") from None

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
        if self._private is not None:
            self._private.cleanup()
            self._private = None

    def __enter__(self) -> "IndexedFasta":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_fai(path: str | os.PathLike) -> dict[str, int] | None:
    """Record sizes from an existing ``PATH.fai`` (newer than the FASTA), else ``None``."""
    p = Path(path)
    fai = Path(str(p) + ".fai")
    try:
        if not fai.exists() or fai.stat().st_mtime < p.stat().st_mtime:
            return None
        sizes = {}
        with open(fai) as fh:
            for line in fh:
                f = line.split("\t")
                if len(f) >= 2:
                    sizes[f[0]] = int(f[1])
        return sizes or None
    except (OSError, ValueError):
        return None


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
                with contextlib.suppress(OSError):  # a read-only folder: there is nothing to remove
                    m.unlink(missing_ok=True)
        return False
    finally:
        pysam.set_verbosity(verbosity)
    return read_fai(p) is not None


@contextlib.contextmanager
def _stderr_captured() -> Iterator[list[str]]:
    """Capture what C code writes to file descriptor 2 (htslib's warnings) into ``[text]``."""

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


def fasta_sizes(path: str | os.PathLike, *, build: bool = True) -> dict[str, int] | None:
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
