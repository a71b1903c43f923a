"""A streaming bigWig writer: fixed-step values in, a bigWig (with zoom levels) out, in flat memory.

Why our own: libBigWig (pyBigWig) keeps every zoom record in memory until the file is closed
(about 32 bytes per 200 bp at a 50 bp span: 0.5-0.7 GB for hg38) and builds the zoom levels at
``close()`` by reading the whole file back. Here the zoom levels are summarised as the values
arrive (compiled passes, :mod:`motifscan.io.bigwig_zoom`), each level's compressed blocks are
spooled to a temporary file beside the output, and only one index entry per block (32 bytes per
4,096 values) stays in memory.

The file follows the bigWig format of the UCSC genome browser (Kent et al. 2010, and
``bbiFile.h``/``bwgCreate.c`` of the kent source): a 64-byte header, zoom headers, the total
summary, the chromosome B+ tree, zlib-compressed fixed-step data sections (type 3), their R-tree
index, then per zoom level its summary records (32 bytes each) and their R-tree index. Values are
float32. Tests read the files back with libBigWig (pyBigWig) and the UCSC kent library (pybbi).

Zoom levels: level 0 summarises bins of ``16 * span`` bases (800 bp at the default stride: a
zoom record is 32 bytes against 4 per value, so finer levels would outweigh the data, as the UCSC
tools' choice of a first level also avoids), each further level 4 times coarser; a record covers
the data inside its bin (tight start and end).

Draft assemblies (10^4-10^6 scaffolds): a sequence shorter than :data:`SHORT_BASES` is not
streamed run by run but summarised with the other short sequences in batches (its data sections,
zoom records and totals in a few compiled passes for thousands of sequences), and its zoom records
share blocks with its neighbours'. Zoom blocks end after :data:`ZOOM_RECORDS` records and at
the end of every longer sequence (a chromosome), as they always did, so a genome of chromosomes
gives the same bytes as before; the values (data sections) follow the same rule whatever the
sequence's length, except that a short sequence's section of fewer than :data:`STORED_VALUES`
values is a stored (not deflated) zlib stream, packed with the others in one pass: deflate
saves under 1% on so few float32 scores and one call per section (20-30 us with libdeflate, which
allocates its compressor per call) costs more than the rest of a scaffold.
"""

from __future__ import annotations

import functools
import os
import struct
import tempfile
import zlib
from operator import itemgetter, ne
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from ..jit import njit
from .bigwig_sections import pack_sections, unpack_sections
from .bigwig_zoom import ZOOM_DTYPE, add_totals, bin_values, concat_records, merge_bins, run_totals
# libdeflate: standard zlib streams, ~3x faster than zlib's level 1 on float32 scores and zoom
# records at the same size, and a function of its input alone (see DEFLATE_LEVEL); one
# compressor per file, reused for every block
from .deflater import Deflater
from .names import RecordNames

__all__ = ["BigWigStream", "BigWigSections", "ZOOM_LEVELS", "BLOCK_VALUES"]

BIGWIG_MAGIC = 0x888FFC26
BPT_MAGIC = 0x78CA8C91
CIRTREE_MAGIC = 0x2468ACE0
#: Zoom levels by default: 800 bp .. 205 kb at a 50 bp span. Measured at 3.1 Gbp
#: (benchmarks/genome_bench.py): the first level is most of the cost (0 / 1 / 5 / 10 levels:
#: 225 / 303 / 328 / 328 MB, 8 / 19 / 22 / 21 s CPU), further ones are nearly free, and memory
#: stays flat whatever the number; 5 reach a whole-chromosome view (250 kb per pixel).
ZOOM_LEVELS = 5
#: Values per data section (16 kB uncompressed); zoom records per zoom block (16 kB).
BLOCK_VALUES = 4096
ZOOM_RECORDS = 512
#: Values held before blocks are written and summarised (numpy work in large batches).
FLUSH_VALUES = 16 * BLOCK_VALUES
#: Level 0 summarises ``ZOOM_FIRST * span`` bases, each further level ``ZOOM_STEP`` times more.
ZOOM_FIRST = 16
ZOOM_STEP = 4
#: Children per R-tree / B+ tree node (as the UCSC tools write).
NODE_SIZE = 256
#: libdeflate level of every block. On a scan's track (30 Mbp, CTCF model) level 1 deflates data
#: sections to 0.855 of their size and zoom blocks to 0.62, at 0.52 + 0.38 ms per Mbp, against
#: zlib level 1's 0.862 and 0.62 at 1.80 + 1.05 ms; libdeflate's levels 2-6 are no smaller and
#: slower. Determinism: the byte-for-byte equality of sharded and unsharded outputs needs a
#: deflate whose stream is a function of its input. libdeflate's compressor has no CPU dispatch
#: (only its Adler-32 checksum has, which is one number whatever the code path) and starts each
#: call from a freshly initialised match finder, so the stream depends on the bytes, the level
#: and libdeflate's version (pinned through the ``deflate`` wheel). ISA-L (python-isal, ~30x
#: zlib's speed) was dropped for this: in CI it deflated one zoom block of a gathered bigWig to a
#: 68-byte instead of a 69-byte stream for the same bytes.
DEFLATE_LEVEL = 1

#: Sequences shorter than this are summarised in batches (see the module docstring); longer
#: ones run by run. Any length above the largest draft scaffolds and below a chromosome will do.
SHORT_BASES = 1 << 17
#: Data sections of short sequences with fewer values than this are written as stored (not
#: deflated) zlib streams: float32 scores of a few hundred windows deflate by under 1% (measured
#: on a draft assembly's track) while a deflate call per section costs 20-30 us, most of a
#: scaffold's cost. Chromosomes (streamed run by run) are deflated as before.
STORED_VALUES = 256
#: Values of short sequences held before a batch is written.
SHORT_BATCH_VALUES = 1 << 16
#: :meth:`BigWigStream.chrom_ids` finds up to this many names out of order by searching the names'
#: bytes (a few ms each at 10^6 names), more by hashing every name once.
_SEARCHED_NAMES = 4


class _Blocks:
    """Index entries of written blocks: first chrom, start, last chrom, end, file offset, compressed size.

    Kept in numpy chunks of :attr:`CHUNK` entries of 32 bytes, each laid out as the R-tree's leaf
    item (a chunk is a multiple of NODE_SIZE entries, so each leaf node of the index lies in one
    chunk). A draft assembly writes a block per sequence: its full chunks go to a temporary file
    in ``spool_dir`` (10^6 entries: 32 MB that would grow through the scan), read back one at a
    time when the index is written; a genome of chromosomes fills no chunk. A data block holds
    one chromosome; a zoom block of short sequences may hold several.
    """

    _DTYPE = np.dtype([("chrom", "<u4"), ("start", "<u4"), ("end_chrom", "<u4"), ("end", "<u4"),
                       ("offset", "<u8"), ("size", "<u8")])
    #: Entries per chunk (1 MB).
    CHUNK = 1 << 15

    def __init__(self, spool_dir: str | os.PathLike | None = None) -> None:
        self._spool_dir = spool_dir
        self._spool: BinaryIO | None = None
        self._spooled: list[np.ndarray] = []  # per spooled chunk: its leaf nodes' bounds (_node_bounds)
        self._chunk = np.empty(0, self._DTYPE)  # the chunk being filled
        self._shift = 0
        self._n = 0

    def add_many(self, chrom, start, end, offset, size, *, end_chrom=None) -> None:
        """Many blocks at once (``end_chrom``: each block's last chromosome, default ``chrom``)."""
        columns = [np.asarray(x) for x in (chrom, start, chrom if end_chrom is None else end_chrom, end, offset, size)]
        k, done = len(columns[0]), 0
        while done < k:
            at = self._n % self.CHUNK
            if not at:
                if len(self._chunk):
                    self._spool_chunk()
                self._chunk = np.empty(self.CHUNK, self._DTYPE)
            m = min(self.CHUNK - at, k - done)
            part = self._chunk[at : at + m]
            for name, col in zip(self._DTYPE.names, columns):
                part[name] = col[done : done + m]
            self._n += m
            done += m

    def _spool_chunk(self) -> None:
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(dir=self._spool_dir)
        self._spooled.append(_node_bounds(self._chunk))
        self._spool.write(self._chunk.view(np.uint8))

    def chunks(self) -> Iterator[np.ndarray]:
        """The entries in the order added, chunk by chunk (structured arrays, offsets shifted)."""
        if self._spool is not None:
            self._spool.seek(0)
        for _ in self._spooled:
            yield self._shifted(np.frombuffer(self._spool.read(self.CHUNK * 32), self._DTYPE).copy())
        last = self._n - len(self._spooled) * self.CHUNK
        if last:
            yield self._shifted(self._chunk[:last].copy() if self._shift else self._chunk[:last])

    def _shifted(self, part: np.ndarray) -> np.ndarray:
        if self._shift:
            part["offset"] += np.uint64(self._shift)
        return part

    def node_bounds(self) -> np.ndarray:
        """Each leaf node's first entry's ``chrom``, ``start`` and last entry's ``end_chrom``, ``end``
        (a structured array of the four, one row per NODE_SIZE entries)."""
        last = self._n - len(self._spooled) * self.CHUNK
        parts = self._spooled + ([_node_bounds(self._chunk[:last])] if last else [])
        return np.concatenate(parts) if parts else _node_bounds(self._chunk[:0])

    def shift(self, by: int) -> None:
        """Add ``by`` to every offset (blocks spooled elsewhere, copied into the file)."""
        self._shift += by

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()

    def __len__(self) -> int:
        return self._n


def _node_bounds(entries: np.ndarray) -> np.ndarray:
    """``chrom``, ``start`` of the first and ``end_chrom``, ``end`` of the last entry of each
    NODE_SIZE entries (the last node may hold fewer)."""
    firsts = np.arange(0, len(entries), NODE_SIZE)
    lasts = np.minimum(firsts + NODE_SIZE, len(entries)) - 1
    out = np.empty(len(firsts), np.dtype([("chrom", "<u4"), ("start", "<u4"), ("end_chrom", "<u4"), ("end", "<u4")]))
    out["chrom"], out["start"] = entries["chrom"][firsts], entries["start"][firsts]
    out["end_chrom"], out["end"] = entries["end_chrom"][lasts], entries["end"][lasts]
    return out


class _Summary:
    """Running sums of one zoom level, merged by bin, with its blocks spooled to a file."""

    def __init__(self, reduction: int, spool: BinaryIO, deflater: Deflater) -> None:
        self.reduction = reduction
        self.spool = spool
        self.deflater = deflater
        self.blocks = _Blocks()
        self.records = 0
        self.max_block = 0
        self._open: np.ndarray | None = None     # the last bin: it may go on in the next call
        self._held: list[np.ndarray] = []        # finished records not yet in a block
        self._held_n = 0

    def feed(self, rec: np.ndarray) -> np.ndarray:
        """Add records (any bins, in order, one chromosome); returns the records it finished."""
        if self._open is not None:
            rec = concat_records([self._open, rec])
        out = merge_bins(rec, self.reduction)
        self._open, done = out[-1:].copy(), out[:-1]
        self._hold(done)
        return done

    def feed_bins(self, rec: np.ndarray) -> np.ndarray:
        """:meth:`feed` of records already one per bin of this level (the binning's, ``len > 0``;
        written over): only the first can join the open bin, so the rest are not merged again
        (a pass and a copy of every level-0 record, as many as the values / 16)."""
        if self._open is not None:
            head = merge_bins(concat_records([self._open, rec[:1]]), self.reduction)
            rec[:1] = head[-1:]
            if len(head) == 2:  # the open bin is another: it is done
                rec = concat_records([head[:1], rec])
        self._open, done = rec[-1:].copy(), rec[:-1]
        self._hold(done)
        return done

    def add_finished(self, rec: np.ndarray) -> None:
        """Records of whole bins of sequences that have ended (short sequences, batched)."""
        assert self._open is None, "a streamed chromosome is still open"
        self._hold(rec)

    def flush(self) -> np.ndarray:
        """Finish the open bin (end of a chromosome or of the file); returns it."""
        done = self._open if self._open is not None else np.empty(0, ZOOM_DTYPE)
        self._open = None
        self._hold(done)
        self._write(final=True)
        return done

    def _hold(self, done: np.ndarray) -> None:
        if len(done):
            self._held.append(done)
            self._held_n += len(done)
            if self._held_n >= ZOOM_RECORDS:
                self._write(final=False)

    def _write(self, final: bool) -> None:
        if not self._held_n:
            return
        rec = concat_records(self._held)
        n = len(rec) if final else len(rec) // ZOOM_RECORDS * ZOOM_RECORDS
        if n:
            # every block of the call at once: one copy of the records, one write, the index as
            # arrays (a draft assembly's 10^6 scaffolds make 10^4 zoom blocks; a Python step of
            # field lookups, tell and write per block cost more than deflating it)
            first = np.arange(0, n, ZOOM_RECORDS)
            last = np.minimum(first + ZOOM_RECORDS, n) - 1
            size = ZOOM_DTYPE.itemsize
            data = self.deflater.blocks(np.ascontiguousarray(rec[:n]),
                                        [(a * size, (b + 1) * size) for a, b in zip(first.tolist(), last.tolist())])
            lens = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
            offsets = self.spool.tell() + np.cumsum(lens) - lens
            self.blocks.add_many(rec["chrom"][first], rec["start"][first], rec["end"][last], offsets, lens,
                                 end_chrom=rec["chrom"][last])
            self.spool.write(b"".join(data))
            self.max_block = max(self.max_block, int((last - first + 1).max()) * size)
        self.records += n
        rest = rec[n:]
        self._held = [rest] if len(rest) else []
        self._held_n = len(rest)


class BigWigStream:
    """Write a bigWig from fixed-step runs of values, in genome order, in flat memory.

    Parameters
    ----------
    fh
        The output, opened ``"w+b"`` and written from offset 0 (the header, zoom headers and
        summary are filled in at :meth:`close` by seeking back).
    sizes
        ``[(chrom, length), ...]`` in the order the values will come, or an object with the
        columns ``names`` (list) and ``lengths`` (int64), as :class:`~motifscan.io.fasta.RecordSizes`.
    zoom_levels
        Number of zoom levels (0: none).
    spool_dir
        Folder for the zoom levels' temporary files (default: beside ``fh``'s name, else /tmp).

    Call :meth:`add` with runs in order (chromosome order of ``sizes``, then position; a run
    that goes on where the last one stopped is joined to it), then :meth:`close`.
    """

    def __init__(self, fh: BinaryIO, sizes: list[tuple[str, int]], *, zoom_levels: int = ZOOM_LEVELS,
                 spool_dir: str | os.PathLike | None = None) -> None:
        if not sizes:
            raise ValueError("a bigWig needs at least one chromosome")
        self.fh = fh
        # a draft assembly has 10^6 names: taken as columns when given so (a RecordSizes: no 10^6
        # (name, length) tuples), else by C-level maps (zip(*sizes) is 20x slower at 10^6); held
        # as one buffer (RecordNames: no str per name, ~70 MB at 10^6, where the .fai's are kept
        # so); the name -> id dict only when asked for (chrom_ids needs it rarely)
        if hasattr(sizes, "names") and hasattr(sizes, "lengths"):
            names = sizes.names
            self._names = names if isinstance(names, RecordNames) else RecordNames.from_names(map(str, names))
            self._lengths = np.asarray(sizes.lengths, dtype=np.int64)
        else:
            pairs = sizes if isinstance(sizes, list) else list(sizes)
            self._names = RecordNames.from_names(map(str, map(itemgetter(0), pairs)))
            self._lengths = np.fromiter(map(itemgetter(1), pairs), np.int64, len(pairs))
            self.__dict__["sizes"] = pairs  # the cached property's value: the list as given
        self._next = 0  # the last id chrom_ids returned: the next batch starts there or after it
        self._hashes: tuple[np.ndarray, np.ndarray] | None = None  # (sorted name hashes, their ids), for _find
        self.zoom_levels = int(zoom_levels)
        self.max_block = 0
        self.n_values = 0
        self._stats = np.zeros(5)  # bases covered, min, max, sum, sum of squares
        self._stats[1:3] = (np.inf, -np.inf)
        # the run being filled: chromosome, start of its first value, span, step, values
        self._run: tuple[int, int, int, int] | None = None
        self._vals: list[np.ndarray] = []
        self._nvals = 0
        self._last = (-1, 0)  # (chrom id, end) of the last value written
        self._levels: list[_Summary] = []
        self._spool_dir = spool_dir or (Path(fh.name).parent if isinstance(getattr(fh, "name", None), str) else None)
        self.blocks = _Blocks(self._spool_dir)
        self._deflater = Deflater(DEFLATE_LEVEL)
        self._closed = False
        self._short = self._lengths < SHORT_BASES
        # runs of short sequences waiting to be written as a batch: (tids, starts, counts, values)
        self._batch: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._batch_n = 0
        self._batch_layout: tuple[int, int] | None = None  # (span, step) of the batch
        self._write_head()

    # -- layout ----------------------------------------------------------------------------
    def _write_head(self) -> None:
        fh = self.fh
        fh.seek(0)
        fh.write(b"\0" * 64)                              # header, filled at close
        self._zoom_headers = fh.tell()
        fh.write(b"\0" * 24 * self.zoom_levels)           # zoom headers, filled at close
        self._summary_offset = fh.tell()
        fh.write(b"\0" * 40)                              # total summary, filled at close
        self._chrom_tree = fh.tell()
        self._write_chrom_tree()
        self._data_offset = fh.tell()
        fh.write(b"\0" * 8)                               # number of data blocks

    def _write_chrom_tree(self) -> None:
        """The chromosome B+ tree: keys (names, sorted bytewise) -> (id, size).

        Built with numpy (a draft assembly has 10^6 names): leaves of ``block`` items, each level
        above holding the first key of each node below, written from the root down.
        """
        keys = _padded_keys(self._names)
        key_size = keys.dtype.itemsize
        order = np.argsort(keys, kind="stable")  # bytewise, as the format wants
        n = len(order)
        # the leaves' items in one array, the sorted keys put there straight away (the tree of 10^6
        # names holds ~25 MB: no second copy of it, of the keys or of its bytes)
        leaf = np.empty(n, np.dtype([("key", f"S{key_size}"), ("tid", "<u4"), ("size", "<u4")]))
        np.take(keys, order, out=leaf["key"], mode="clip")
        del keys
        sorted_keys = leaf["key"]
        if n > 1 and (sorted_keys[1:] == sorted_keys[:-1]).any():
            raise ValueError("duplicate chromosome names")
        leaf["tid"], leaf["size"] = order, self._lengths[order]
        del order
        block = max(1, min(NODE_SIZE, n))
        fh = self.fh
        fh.write(struct.pack("<IIIIQQ", BPT_MAGIC, block, key_size, 8, n, 0))
        # node counts per level, from the leaves up; each level above holds one item per node below
        counts = [n]
        while counts[-1] > block:
            counts.append(-(-counts[-1] // block))
        item = key_size + 8
        # byte offset of every node, level by level from the root
        pos = fh.tell()
        starts = []
        for c in reversed(counts):
            nodes = -(-c // block)
            starts.append(pos + np.arange(nodes, dtype=np.int64) * (4 + block * item))
            pos += 4 * nodes + c * item
        starts.reverse()  # starts[k]: offsets of the nodes of level k (0: leaves)
        # (only the last node of a level may hold fewer items, so offsets are uniform before it)
        for k in reversed(range(len(counts))):
            c = counts[k]
            if k == 0:
                items = leaf
            else:  # the first key of each node of the level below
                items = np.empty(c, np.dtype([("key", f"S{key_size}"), ("child", "<u8")]))
                items["key"], items["child"] = sorted_keys[:: block**k], starts[k - 1]
            raw = items.view(np.uint8)
            for lo in range(0, c, block):
                hi = min(lo + block, c)
                fh.write(struct.pack("<BBH", 1 if k == 0 else 0, 0, hi - lo))
                fh.write(raw[lo * item : hi * item])

    @functools.cached_property
    def sizes(self) -> list[tuple[str, int]]:
        """``[(chrom, length), ...]`` in chromosome-id order (built when asked for, from the columns)."""
        return list(zip(self._names, self._lengths.tolist()))

    @functools.cached_property
    def tid(self) -> dict[str, int]:
        """Chromosome name -> id (index in ``sizes``)."""
        return dict(zip(self._names, range(len(self._names))))

    def chrom_ids(self, names: list[str]) -> np.ndarray:
        """``int64`` chromosome id of each of ``names`` (``-1``: not in the bigWig's list).

        A scan's batch holds consecutive sequences of the genome, most often from where the last
        batch ended, a chromosome's name once per row it fills: then the ids follow from the first
        one's, checked by one list comparison instead of a lookup per name (10^5 names a batch in
        a draft assembly).
        """
        if isinstance(names, list) and names:
            nxt, all_names = self._next, self._names
            if all_names.matches(nxt, names[:1]):
                first = nxt
            elif all_names.matches(nxt + 1, names[:1]):  # the last one ended there
                first = nxt + 1
            else:
                first = self._find(names[:1])[0]
            # one comparison of the names' bytes with the list's (10^5 names a batch)
            if first >= 0 and all_names.matches(first, names):
                self._next = first + len(names) - 1  # the last one may go on in the next batch
                return np.arange(first, first + len(names), dtype=np.int64)
            # a chromosome cut into a batch's rows: its name once per row; the names that differ
            # from the one before them must be consecutive records
            new = np.flatnonzero(np.fromiter(map(ne, names, [None, *names[:-1]]), bool, len(names)))
            if first >= 0 and len(new) < len(names) and all_names.matches(first, [names[i] for i in new.tolist()]):
                self._next = first + len(new) - 1
                return np.repeat(np.arange(first, first + len(new), dtype=np.int64), np.diff(np.r_[new, len(names)]))
        ids = self._find(names)
        if len(ids) and ids[-1] >= 0:
            self._next = int(ids[-1])
        return ids

    def _find(self, names: list[str]) -> np.ndarray:
        """Ids of ``names`` (``-1``: absent): a few by a search of the names' bytes, more by their
        hashes, so 10^6 names need no dict (~70 MB): a sorted array of every name's hash, then a
        check that each match is that name."""
        if len(names) <= _SEARCHED_NAMES:
            return np.array([self._names.find(n) if isinstance(n, str) else -1 for n in names], dtype=np.int64)
        if self._hashes is None:
            h = np.fromiter(map(hash, self._names), dtype=np.int64, count=len(self._names))
            order = np.argsort(h, kind="stable")
            self._hashes = (h[order], order)
        sorted_h, order = self._hashes
        want = np.fromiter(map(hash, names), dtype=np.int64, count=len(names))
        at = np.minimum(np.searchsorted(sorted_h, want), len(sorted_h) - 1)
        ids = np.where(sorted_h[at] == want, order[at], -1)
        all_names = self._names
        for i, (name, j) in enumerate(zip(names, ids.tolist())):
            if j < 0 or all_names[j] != name:  # absent, or another name of the same hash: ask the dict
                ids[i] = self.tid.get(name, -1)
        return ids

    # -- data ------------------------------------------------------------------------------
    def add(self, chrom: str, start: int, span: int, step: int, values: np.ndarray) -> None:
        """Values of ``[start + i * step, start + i * step + span)``, ``i = 0 .. n-1``.

        Runs must come in order; ``span <= step`` (values do not overlap).
        """
        if not len(values):
            return
        tid = int(self.chrom_ids([chrom])[0])
        if tid < 0:
            raise ValueError(f"chromosome {chrom!r} is not in the bigWig's chromosome list")
        self.add_runs(np.array([tid]), np.array([start]), np.array([len(values)]), span, step, values)

    def add_runs(self, tids: np.ndarray, starts: np.ndarray, counts: np.ndarray, span: int, step: int,
                 values: np.ndarray) -> None:
        """Many runs at once: run ``i`` holds ``counts[i]`` values of chromosome id ``tids[i]``
        (the index in ``sizes``) from ``starts[i]``; ``values`` are the runs' values end to end.

        Equivalent to :meth:`add` run by run (the same file), without a Python step per run for
        short sequences.
        """
        tids = np.asarray(tids, dtype=np.int64)
        starts = np.asarray(starts, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        if not len(tids):
            return
        if not 0 < span <= step:
            raise ValueError(f"span {span} must be in (0, step {step}]")
        if len(values) != int(counts.sum()) or (counts < 0).any():
            raise ValueError("values do not match the runs' counts")
        if (counts == 0).any():
            keep = counts > 0
            tids, starts, counts = tids[keep], starts[keep], counts[keep]
            if not len(tids):
                return
        ends = starts + (counts - 1) * step + span
        in_order = np.r_[(tids[0], starts[0]) >= self._last,
                         (tids[1:] > tids[:-1]) | ((tids[1:] == tids[:-1]) & (starts[1:] >= ends[:-1]))]
        bad = np.flatnonzero(~in_order | (ends > self._lengths[tids]) | (starts < 0))
        if len(bad):
            i = int(bad[0])
            chrom, size = self._names[int(tids[i])], int(self._lengths[int(tids[i])])
            raise ValueError(f"{chrom}:{int(starts[i])}-{int(ends[i])}: values are not in genome order, or run past "
                             f"the chromosome's end ({size})")
        values = np.ascontiguousarray(values, dtype=np.float32)
        self._last = (int(tids[-1]), int(ends[-1]))
        short = self._short[tids]
        # consecutive runs of short (batched) and long (streamed) sequences, in order
        cut = np.r_[0, np.flatnonzero(np.diff(short)) + 1, len(tids)]
        offs = np.r_[0, np.cumsum(counts)]
        for lo, hi in zip(cut[:-1].tolist(), cut[1:].tolist()):
            if short[lo]:
                self._add_short(tids[lo:hi], starts[lo:hi], counts[lo:hi], span, step, values[offs[lo] : offs[hi]])
            else:
                self._flush_short(final=True)
                for i in range(lo, hi):
                    self._add_long(int(tids[i]), int(starts[i]), span, step, values[offs[i] : offs[i + 1]])

    def _add_long(self, tid: int, start: int, span: int, step: int, values: np.ndarray) -> None:
        """A run of a long sequence: joined to the run before it, written in fixed blocks."""
        n = len(values)
        run = self._run
        if run is not None and not (run[0] == tid and run[2] == span and run[3] == step
                                    and run[1] + self._nvals * step == start):
            self._flush_run(final=True)
            run = None
        if run is None:
            self._run = (tid, start, span, step)
        self._vals.append(values)
        self._nvals += n
        if self._nvals >= FLUSH_VALUES:
            self._flush_run(final=False)

    def _add_short(self, tids: np.ndarray, starts: np.ndarray, counts: np.ndarray, span: int, step: int,
                   values: np.ndarray) -> None:
        """Runs of short sequences: held, and written a batch of whole sequences at a time."""
        if self._run is not None:  # a long sequence ended: its last blocks and zoom bins
            self._flush_run(final=True)
        if self._levels and self._levels[0]._open is not None:
            self._end_chrom()
        if self._batch_layout not in (None, (span, step)):
            self._flush_short(final=True)
        self._batch_layout = (span, step)
        self._batch.append((tids, starts, counts, values))
        self._batch_n += len(values)
        if self._batch_n >= SHORT_BATCH_VALUES:
            self._flush_short(final=False)

    def _flush_short(self, final: bool) -> None:
        """Write the held short sequences (all when ``final``, else all but the last, which may go on)."""
        if not self._batch:
            return
        tids, starts, counts, vals = (np.concatenate(x) for x in zip(*self._batch))
        span, step = self._batch_layout
        n = len(tids) if final else int(np.searchsorted(tids, tids[-1]))
        if n < len(tids):
            rest = int(counts[:n].sum())
            self._batch = [(tids[n:], starts[n:], counts[n:], vals[rest:])]
            self._batch_n = len(vals) - rest
            tids, starts, counts, vals = tids[:n], starts[:n], counts[:n], vals[:rest]
        else:
            self._batch, self._batch_n, self._batch_layout = [], 0, None
        if not n:
            return
        # runs that go on where the one before stopped are one run (as add() joins them)
        joined = np.r_[False, (tids[1:] == tids[:-1]) & (starts[1:] == starts[:-1] + counts[:-1] * step)]
        first = np.flatnonzero(~joined)
        tids, starts, counts = tids[first], starts[first], np.add.reduceat(counts, first)
        self._write_sections(tids, starts, counts, span, step, vals, STORED_VALUES)
        self._account_many(tids, starts, counts, span, step, vals)

    def _write_sections(self, tids: np.ndarray, starts: np.ndarray, counts: np.ndarray, span: int, step: int,
                        vals: np.ndarray, stored_below: int) -> None:
        """Fixed-step sections of whole runs: blocks of BLOCK_VALUES from each run's start.

        Sections of fewer than ``stored_below`` values (a scaffold's few) are stored zlib
        streams, packed with the rest in one compiled pass; the others are deflated a call each.
        """
        sec = pack_sections(tids, starts, counts, span, step, vals, BLOCK_VALUES, stored_below)
        view, at = memoryview(sec.buf), sec.at
        lens = np.diff(at)
        big = np.flatnonzero(~sec.stored).tolist()
        bounds = at.tolist()
        deflated = self._deflater.blocks(sec.buf, [(bounds[i], bounds[i + 1]) for i in big])
        lens[big] = [len(d) for d in deflated]
        # in file order: each run of stored sections as one slice, between the deflated ones
        data, prev = [], 0
        for i, d in zip(big, deflated):
            data += [view[at[prev] : at[i]], d]
            prev = i + 1
        data.append(view[at[prev] :])
        offset = self.fh.tell() + np.r_[0, np.cumsum(lens)[:-1]]
        self.fh.write(b"".join(data))
        self.blocks.add_many(sec.tid, sec.start, sec.end, offset, lens)
        self.max_block = max(self.max_block, int(sec.raw_size.max()))

    def _account_many(self, tids: np.ndarray, starts: np.ndarray, counts: np.ndarray, span: int, step: int,
                      vals: np.ndarray) -> None:
        """Total summary and zoom records of whole short sequences (their bins are complete)."""
        v = vals  # float32, widened in the compiled passes
        self.n_values += len(v)
        add_totals(self._stats, tids, counts, span, v)  # sequence by sequence: not by batch
        if not self.zoom_levels:
            return
        if not self._levels:
            self._open_levels(span)
        recs = bin_values(tids, starts, counts, span, step, v, self._levels[0].reduction)
        for i, level in enumerate(self._levels):
            if i:
                recs = merge_bins(recs, level.reduction)
            level.add_finished(recs)

    def _flush_run(self, final: bool) -> None:
        """Write the full blocks of the current run (all of it when ``final``)."""
        if self._run is None or not self._nvals:
            return
        tid, start, span, step = self._run
        vals = np.concatenate(self._vals) if len(self._vals) > 1 else self._vals[0]
        # blocks and zoom batches start at fixed offsets of the run (multiples of FLUSH_VALUES),
        # so a run gives the same bytes however its values were split into add() calls
        # (a sharded scan gathered == the unsharded scan)
        n = len(vals) if final else len(vals) // FLUSH_VALUES * FLUSH_VALUES
        if n:
            self._write_sections(np.array([tid]), np.array([start]), np.array([n]), span, step, vals[:n], 0)
            self._account(tid, start, span, step, vals[:n])
        rest = vals[n:]
        if len(rest):
            self._run = (tid, start + n * step, span, step)
            self._vals, self._nvals = [rest], len(rest)
        else:
            self._run, self._vals, self._nvals = None, [], 0

    def _account(self, tid: int, start: int, span: int, step: int, vals: np.ndarray) -> None:
        """Total summary and zoom levels of values just written (float32, widened in the passes)."""
        self.n_values += len(vals)
        mn, mx, s, sq = run_totals(vals)  # numpy's min, max, sum, sum of squares of the float64 values
        st = self._stats
        st[0] += span * len(vals)
        st[1] = min(st[1], mn)
        st[2] = max(st[2], mx)
        st[3] += span * s
        st[4] += span * sq
        if not self.zoom_levels:
            return
        if not self._levels:
            self._open_levels(span)
        elif self._levels[0]._open is not None and int(self._levels[0]._open["chrom"][0]) != tid:
            self._end_chrom()
        recs = bin_values(np.array([tid]), np.array([start]), np.array([len(vals)]), span, step, vals,
                          self._levels[0].reduction)
        for i, level in enumerate(self._levels):
            recs = level.feed(recs) if i else level.feed_bins(recs)
            if not len(recs):
                break

    def _open_levels(self, span: int) -> None:
        reduction = max(10, ZOOM_FIRST * span)
        for _ in range(self.zoom_levels):
            spool = tempfile.TemporaryFile(dir=self._spool_dir)
            self._levels.append(_Summary(reduction, spool, self._deflater))
            if reduction > (1 << 32) // ZOOM_STEP:
                break
            reduction *= ZOOM_STEP

    def _end_chrom(self) -> None:
        """A chromosome ended: finish every level's open bin, finer levels first."""
        carry = np.empty(0, ZOOM_DTYPE)
        for level in self._levels:
            done = level.feed(carry) if len(carry) else carry
            carry = concat_records([done, level.flush()])

    # -- close -----------------------------------------------------------------------------
    def close(self) -> None:
        """Write the last blocks, the indexes, the zoom levels and the header."""
        if self._closed:
            return
        self._closed = True
        self._flush_short(final=True)
        self._flush_run(final=True)
        fh = self.fh
        if self._levels:
            self._end_chrom()
        index_offset = fh.tell()
        _write_rtree(fh, self.blocks, BLOCK_VALUES, index_offset)
        self.blocks.close()
        zooms = []
        max_block = self.max_block
        for level in self._levels:
            if not len(level.blocks):
                continue
            data_offset = fh.tell()
            fh.write(struct.pack("<I", level.records))
            base = fh.tell()
            level.spool.seek(0)
            while True:
                buf = level.spool.read(1 << 22)
                if not buf:
                    break
                fh.write(buf)
            level.spool.close()
            level.blocks.shift(base)
            zoom_index = fh.tell()
            _write_rtree(fh, level.blocks, ZOOM_RECORDS, zoom_index)
            zooms.append((level.reduction, data_offset, zoom_index))
            max_block = max(max_block, level.max_block)
        for level in self._levels:
            level.spool.close()
        fh.write(struct.pack("<I", BIGWIG_MAGIC))
        end = fh.tell()
        st = self._stats
        if not self.n_values:
            st[1] = st[2] = 0.0
        fh.seek(self._summary_offset)
        fh.write(struct.pack("<Qdddd", int(st[0]), st[1], st[2], st[3], st[4]))
        fh.seek(self._data_offset)
        fh.write(struct.pack("<Q", len(self.blocks)))
        fh.seek(self._zoom_headers)
        for reduction, data_offset, zoom_index in zooms:
            fh.write(struct.pack("<IIQQ", reduction, 0, data_offset, zoom_index))
        for _ in range(self.zoom_levels - len(zooms)):  # levels never reached: zeroed headers
            fh.write(b"\0" * 24)
        fh.seek(0)
        fh.write(struct.pack("<IHHQQQHHQQIQ", BIGWIG_MAGIC, 4, len(zooms), self._chrom_tree, self._data_offset,
                             index_offset, 0, 0, 0, self._summary_offset, max_block, 0))
        fh.seek(end)
        fh.flush()
        self._deflater.close()

    def abort(self) -> None:
        """Drop the spools (the caller removes the output)."""
        for level in self._levels:
            level.spool.close()
        self.blocks.close()
        self._deflater.close()
        self._closed = True


def _padded_keys(names: RecordNames | list[str]) -> np.ndarray:
    """The names as UTF-8 bytes, NUL-padded to the longest (numpy ``S`` array, at least ``S1``).

    From the names' one buffer in a compiled pass, not a bytes object per name (10^6 names:
    0.24 s that way, 0.02 s this way).
    """
    if not isinstance(names, RecordNames):
        names = RecordNames.from_names(names)
    size = max(1, int(names.sizes().max()) if len(names) else 0)
    keys = np.zeros((len(names), size), np.uint8)
    _scatter_lines(np.frombuffer(names.blob, np.uint8), keys)
    return keys.view(f"S{size}").ravel()


@njit
def _scatter_lines(buf, out):  # pragma: no cover - compiled
    row = col = 0
    for c in buf:
        if c == 10:
            row += 1
            col = 0
        else:
            out[row, col] = c
            col += 1


def _write_rtree(fh: BinaryIO, blocks: _Blocks, per_slot: int, offset: int) -> None:
    """The R-tree index of ``blocks`` (cirTree): written at ``offset`` (the current position)."""
    n = len(blocks)
    nodes = blocks.node_bounds()  # one item per leaf node
    if n:
        head = (int(nodes["chrom"][0]), int(nodes["start"][0]), int(nodes["end_chrom"][-1]), int(nodes["end"][-1]))
    else:
        head = (0, 0, 0, 0)
    fh.write(struct.pack("<IIQIIIIQII", CIRTREE_MAGIC, NODE_SIZE, n, *head, offset, per_slot, 0))
    if not n:
        fh.write(struct.pack("<BBH", 1, 0, 0))
        return
    # bottom-up: level 0 are the leaves (one item per block, as the blocks' entries are laid
    # out), each level above has one item per node of the level below, with the node's first
    # (chrom, start) and last (chrom, end)
    counts, levels = [n], []
    if n > NODE_SIZE:
        levels.append((nodes["chrom"], nodes["start"], nodes["end_chrom"], nodes["end"]))
        counts.append(len(nodes))
        while len(levels[-1][0]) > NODE_SIZE:
            c0, s0, c1, e1 = levels[-1]
            idx = np.arange(0, len(c0), NODE_SIZE)
            last = np.minimum(idx + NODE_SIZE, len(c0)) - 1
            levels.append((c0[idx], s0[idx], c1[last], e1[last]))
            counts.append(len(idx))
    # byte offset of every node, level by level from the root (the leaves' items are 32 bytes)
    pos = fh.tell()
    node_offsets = []
    for depth, count in enumerate(reversed(counts)):
        item = 32 if depth == len(counts) - 1 else 24
        offs = []
        for lo in range(0, count, NODE_SIZE):
            offs.append(pos)
            pos += 4 + item * min(NODE_SIZE, count - lo)
        node_offsets.append(offs)
    inner = np.dtype([("c0", "<u4"), ("s0", "<u4"), ("c1", "<u4"), ("e1", "<u4"), ("off", "<u8")])
    for depth, (c0, s0, c1, e1) in enumerate(reversed(levels)):
        count = len(c0)
        for lo in range(0, count, NODE_SIZE):
            hi = min(lo + NODE_SIZE, count)
            fh.write(struct.pack("<BBH", 0, 0, hi - lo))
            rec = np.empty(hi - lo, inner)
            rec["off"] = np.asarray(node_offsets[depth + 1][lo:hi], np.uint64)
            rec["c0"], rec["s0"], rec["c1"], rec["e1"] = c0[lo:hi], s0[lo:hi], c1[lo:hi], e1[lo:hi]
            fh.write(rec.tobytes())
    for chunk in blocks.chunks():  # the leaves: each chunk's entries as they are, a node at a time
        raw = chunk.view(np.uint8)
        for lo in range(0, len(chunk), NODE_SIZE):
            hi = min(lo + NODE_SIZE, len(chunk))
            fh.write(struct.pack("<BBH", 1, 0, hi - lo))
            fh.write(raw[32 * lo : 32 * hi])


class BigWigSections:
    """Read back the fixed-step sections of a bigWig written by :class:`BigWigStream`.

    ``sizes`` lists ``(chrom, length)`` in chromosome-id order (the order values were written);
    :meth:`sections` yields ``(chrom, start, span, step, values)`` block by block, in file order
    (memory: one block). Used to gather shard tracks into one bigWig.

    Raises
    ------
    ValueError
        Not a bigWig, or a section that is not fixed-step (another tool's bigWig).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            head = fh.read(64)
            if len(head) < 64 or struct.unpack_from("<I", head)[0] != BIGWIG_MAGIC:
                raise ValueError(f"{self.path}: not a bigWig file")
            (_m, _v, _z, self._chrom_tree, self._data, self._index, _f, _d, _a, _s, self._buf,
             _e) = struct.unpack("<IHHQQQHHQQIQ", head)
            self.sizes = self._read_chrom_tree(fh)

    def _read_chrom_tree(self, fh) -> list[tuple[str, int]]:
        """``(name, size)`` by chromosome id; each node's items read as one numpy record array
        (a draft assembly's tree has 10^6 leaves)."""
        fh.seek(self._chrom_tree)
        magic, _block, key_size, _val, _count, _r = struct.unpack("<IIIIQQ", fh.read(32))
        if magic != BPT_MAGIC:
            raise ValueError(f"{self.path}: bad chromosome tree")
        leaf_t = np.dtype([("key", f"S{key_size}"), ("tid", "<u4"), ("size", "<u4")])
        node_t = np.dtype([("key", f"S{key_size}"), ("child", "<u8")])
        leaves: list[np.ndarray] = []

        def node(offset: int) -> None:
            fh.seek(offset)
            leaf, _r, count = struct.unpack("<BBH", fh.read(4))
            items = np.frombuffer(fh.read(count * (key_size + 8)), leaf_t if leaf else node_t, count)
            if leaf:
                leaves.append(items)
            else:
                for child in items["child"].tolist():
                    node(child)

        node(self._chrom_tree + 32)
        items = np.concatenate(leaves) if leaves else np.zeros(0, leaf_t)
        items = items[np.argsort(items["tid"], kind="stable")]
        # numpy's S type drops the keys' trailing NUL padding; names hold no newline
        names = b"\n".join(items["key"].tolist()).decode().split("\n") if len(items) else []
        return list(zip(names, items["size"].tolist()))

    def _blocks(self, fh) -> np.ndarray:
        """``(offset, size)`` of every data block, in file order (the R-tree's leaves), ``(B, 2)`` int64."""
        fh.seek(self._index)
        if struct.unpack("<I", fh.read(4))[0] != CIRTREE_MAGIC:
            raise ValueError(f"{self.path}: bad data index")
        out: list[np.ndarray] = []

        def node(offset: int) -> None:
            fh.seek(offset)
            leaf, _r, count = struct.unpack("<BBH", fh.read(4))
            if leaf:
                out.append(np.frombuffer(fh.read(32 * count), dtype="<u8").reshape(count, 4)[:, 2:])
            else:
                rec = np.frombuffer(fh.read(24 * count), dtype="<u4").reshape(count, 6)
                for child in (rec[:, 4].astype(np.uint64) | (rec[:, 5].astype(np.uint64) << np.uint64(32))).tolist():
                    node(child)

        node(self._index + 48)
        blocks = np.concatenate(out).astype(np.int64) if out else np.zeros((0, 2), np.int64)
        return blocks[np.argsort(blocks[:, 0], kind="stable")]

    def runs(self, chunk_bytes: int = 1 << 22):
        """Yield the data blocks in file order as :class:`~motifscan.io.bigwig_sections.Runs`,
        the blocks of about ``chunk_bytes`` at a time (one read, compiled unpacking: a draft
        assembly's shard holds 10^5 one-scaffold sections)."""
        with open(self.path, "rb") as fh:
            blocks = self._blocks(fh)
            ends = np.cumsum(blocks[:, 1])
            lo = 0
            while lo < len(blocks):
                hi = max(lo + 1, int(np.searchsorted(ends, ends[lo] - blocks[lo, 1] + chunk_bytes, "right")))
                first, last = int(blocks[lo, 0]), int(blocks[hi - 1, 0] + blocks[hi - 1, 1])
                fh.seek(first)
                buf = np.frombuffer(fh.read(last - first), np.uint8)
                try:
                    yield unpack_sections(buf, blocks[lo:hi, 0] - first, blocks[lo:hi, 1], bool(self._buf))
                except ValueError as exc:
                    raise ValueError(f"{self.path}: {exc}: shard tracks must be written by 'motifscan scan'") from None
                lo = hi

    def sections(self):
        """Yield ``(chrom, start, span, step, float32 values)`` of every data block in order."""
        names = [c for c, _n in self.sizes]
        with open(self.path, "rb") as fh:
            for offset, size in self._blocks(fh).tolist():
                fh.seek(offset)
                raw = fh.read(size)
                if self._buf:
                    raw = zlib.decompress(raw)
                tid, start, _end, step, span, kind, _r, count = struct.unpack_from("<IIIIIBBH", raw)
                if kind != 3:
                    raise ValueError(f"{self.path}: a bigWig section of type {kind}, not fixed-step: "
                                     "shard tracks must be written by 'motifscan scan'")
                yield names[tid], start, span, step, np.frombuffer(raw, "<f4", count, 24)
