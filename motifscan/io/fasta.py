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
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from ..codes import N_CODE, encode, soft_mask
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


def read_fai(path: str | os.PathLike) -> dict[str, int] | None:
    """Record sizes from an existing ``PATH.fai`` that matches the FASTA, else ``None``.

    An index older than its FASTA is stale; so is a newer one that does not describe the file
    (a genome replaced by an older-dated download keeps the old index's look of being current):
    see :func:`fai_matches`. A stale index is logged and ignored, and callers rebuild it.
    """
    p = Path(path)
    fai = Path(str(p) + ".fai")
    try:
        if not fai.exists() or fai.stat().st_mtime < p.stat().st_mtime:
            return None
        entries = []
        with open(fai) as fh:
            for line in fh:
                f = line.rstrip("\r\n").split("\t")
                if len(f) >= 5:
                    entries.append((f[0], *(int(v) for v in f[1:5])))
        if not entries or not fai_matches(p, entries):
            log.info("%s does not match %s (a stale index): not using it", fai, p.name)
            return None
        return {name: length for name, length, *_ in entries}
    except (OSError, ValueError):
        return None


#: How many records' offsets :func:`fai_matches` checks (the first, the last and some between).
FAI_CHECKED_RECORDS = 8


def fai_matches(path: str | os.PathLike, entries: list[tuple[str, int, int, int, int]]) -> bool:
    """Whether ``.fai`` entries ``(name, length, offset, line bases, line bytes)`` describe ``path``.

    A cheap check (a few small reads, whatever the genome's size): the last record's sequence
    ends where the file ends (only white space after it), and for a few records (the first, the
    last and some between) the offset begins right after their ``>name`` header line and the
    first sequence line has the length the index says. A bgzip file is read through its ``.gzi``
    (a missing or mismatched one fails the check, and both are rebuilt).
    """
    try:
        with _ByteReader(Path(path)) as data:
            last = max(entries, key=lambda e: e[2])
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
