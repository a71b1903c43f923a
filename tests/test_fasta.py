import gzip
import subprocess
import sys

import numpy as np
import pysam
import pytest
from hypothesis import given, settings, strategies as st

from conftest import write_fasta
from motifscan.errors import InputError
from motifscan.codes import decode
from motifscan.io.fasta import FaiFasta, IndexedFasta, compression, read_fasta, stream_chunks

SEQS = {"chr1": "ACGTACGTNNacgtGGCC" * 7, "chr2": "TTTTGGGGCCCCAAAA", "chrM": "A"}


@pytest.fixture
def fasta(tmp_path):
    return write_fasta(tmp_path / "g.fa", SEQS.keys(), SEQS.values(), width=13)


@pytest.fixture
def bgzipped(tmp_path, fasta):
    out = tmp_path / "g.fa.gz"
    pysam.tabix_compress(str(fasta), str(out))
    return out


def test_read_plain_gzip_bgzip_and_crlf_identical(tmp_path, fasta, bgzipped):
    gz = write_fasta(tmp_path / "plain.fa.gz", SEQS.keys(), SEQS.values(), compress=True)
    crlf = write_fasta(tmp_path / "crlf.fa", SEQS.keys(), SEQS.values(), newline="\r\n")
    assert compression(fasta) == "plain" and compression(gz) == "gzip" and compression(bgzipped) == "bgzip"
    for path in (fasta, gz, bgzipped, crlf):
        recs = list(read_fasta(path))
        assert [r.name for r in recs] == list(SEQS)
        assert [decode(r.codes) for r in recs] == [s.upper() for s in SEQS.values()]


def test_bad_letter_names_file_record_and_position(tmp_path):
    path = write_fasta(tmp_path / "bad.fa", ["ok", "broken"], ["ACGT", "ACGTACGJAC"], width=4)
    with pytest.raises(InputError) as err:
        list(read_fasta(path))
    msg = str(err.value)
    assert "bad.fa" in msg and "record broken" in msg and "position 8" in msg and "'J'" in msg


@pytest.mark.parametrize(
    "content, needle",
    [(b"", "empty"), (b"ACGT\n>x\nACGT\n", "does not start with '>'"), (b">a\nAC\n>a\nGT\n", "duplicate"),
     (b"\x89PNG\r\n\x1a\n\x00\x00binary", "does not start with '>'"), (b"> \nACGT\n", "empty name")],
)
def test_structural_errors(tmp_path, content, needle):
    path = tmp_path / "x.fa"
    path.write_bytes(content)
    with pytest.raises(InputError, match=needle):
        list(read_fasta(path))


def test_truncated_gzip_is_a_clear_error(tmp_path):
    data = gzip.compress((">a\n" + "ACGT" * 5000 + "\n").encode())
    path = tmp_path / "t.fa.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        list(read_fasta(path))


@given(chunk=st.integers(1, 60), overlap=st.integers(0, 30))
@settings(max_examples=60, deadline=None)
def test_stream_chunks_cover_each_record_exactly(tmp_path_factory, chunk, overlap):
    path = write_fasta(tmp_path_factory.mktemp("s") / "g.fa", SEQS.keys(), SEQS.values(), width=7)
    full = {r.name: r.codes for r in read_fasta(path)}
    seen = {}
    for ch in stream_chunks(path, chunk, overlap):
        assert np.array_equal(ch.codes, full[ch.name][ch.start : ch.start + chunk + overlap])
        seen.setdefault(ch.name, []).append(ch)
    for name, chunks in seen.items():
        n = len(full[name])
        assert [c.start for c in chunks] == list(range(0, max(n - overlap, 1), chunk))[: len(chunks)]
        assert chunks[-1].last and chunks[-1].start + len(chunks[-1].codes) == n
        # every position that starts an (overlap+1)-mer lies in exactly one chunk's first `chunk` starts
        starts = sorted(s for c in chunks for s in range(c.start, min(c.start + chunk, c.start + len(c.codes) - overlap)))
        assert starts == list(range(max(n - overlap, 0)))


def test_stream_masks_and_record_filter(fasta):
    chunks = list(stream_chunks(fasta, 1000, 0, with_mask=True, records={"chr1"}))
    assert [c.name for c in chunks] == ["chr1"]
    assert chunks[0].masked.sum() == SEQS["chr1"].count("a") + SEQS["chr1"].count("c") + SEQS["chr1"].count("g") + SEQS["chr1"].count("t")


def test_indexed_plain_and_bgzip(fasta, bgzipped):
    for path in (fasta, bgzipped):
        with IndexedFasta(path) as fa:
            assert fa.sizes == {k: len(v) for k, v in SEQS.items()}
            assert decode(fa.fetch("chr1", 10, 20)) == SEQS["chr1"][10:20].upper()
            assert fa.fetch_raw("chr1", 10, 14) == SEQS["chr1"][10:14]
            with pytest.raises(InputError, match="outside"):
                fa.fetch("chr2", 0, 100)


@given(width=st.integers(1, 20), crlf=st.booleans(), length=st.integers(1, 40), seed=st.integers(0, 10**6))
@settings(max_examples=40, deadline=None)
def test_windows_and_ranges_equal_fetches_off_the_ends_too(tmp_path_factory, width, crlf, length, seed):
    """Many windows or ranges at once (one gather from the mapped file; bgzip one by one) equal
    fetches, N where one runs off its record, whatever the line width and line ends."""
    d = tmp_path_factory.mktemp("windows")
    path = write_fasta(d / "g.fa", SEQS.keys(), SEQS.values(), width=width, newline="\r\n" if crlf else "\n")
    gz = d / "g.fa.gz"
    pysam.tabix_compress(str(path), str(gz))
    rng = np.random.default_rng(seed)
    names = list(SEQS)
    chroms = [names[i] for i in rng.integers(0, len(names), 30)]
    start = np.array([rng.integers(-length - 2, len(SEQS[c]) + 3) for c in chroms])
    spans = rng.integers(0, 2 * length, 30)  # ranges of any length, empty ones too
    for p in (path, gz):
        with IndexedFasta(p) as fa:
            got = fa.windows(chroms, start, length)
            flat = decode(fa.ranges(chroms, start, start + spans))
            want_flat = ""
            for j, (c, a) in enumerate(zip(chroms, start.tolist())):
                seq = SEQS[c].upper()
                want = "".join(seq[q] if 0 <= q < len(seq) else "N" for q in range(a, a + length))
                assert decode(got[j]) == want
                want_flat += "".join(seq[q] if 0 <= q < len(seq) else "N" for q in range(a, a + int(spans[j])))
            assert flat == want_flat


def test_windows_of_a_file_changed_since_indexing_is_a_clear_error(tmp_path, fasta):
    fai = FaiFasta.open(fasta)
    assert decode(fai.windows(np.array([1]), np.array([0]), 16)[0]) == SEQS["chr2"]
    fasta.write_text(fasta.read_text().replace(">chr2", ">chr2 a longer header now"))  # chr2 moved
    with pytest.raises(InputError, match="record chr2, position [0-9]+: .* where the index puts a base"):
        fai.windows(np.array([1]), np.array([0]), 16)


def test_plain_gzip_cannot_be_indexed_and_shows_bgzip_fix(tmp_path):
    gz = write_fasta(tmp_path / "g.fa.gz", SEQS.keys(), SEQS.values(), compress=True)
    with pytest.raises(InputError, match="bgzip"):
        IndexedFasta(gz)


def test_stdin_streaming(fasta):
    code = (
        "from motifscan.io.fasta import read_fasta\n"
        "print(sum(len(r) for r in read_fasta('-')))"
    )
    out = subprocess.run([sys.executable, "-c", code], stdin=open(fasta, "rb"), capture_output=True, text=True, check=True)
    assert int(out.stdout) == sum(map(len, SEQS.values()))


@given(block=st.integers(1, 40), width=st.integers(1, 9), crlf=st.booleans())
@settings(max_examples=60, deadline=None)
def test_records_split_anywhere_by_the_read_blocks(tmp_path_factory, block, width, crlf):
    """A header (or a '>' after a line break) may fall at any offset of a read block."""
    from unittest import mock

    import motifscan.io.fasta as fasta_mod

    path = write_fasta(tmp_path_factory.mktemp("b") / "g.fa", SEQS.keys(), SEQS.values(), width=width,
                       newline="\r\n" if crlf else "\n")
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", block):
        recs = list(read_fasta(path))
    assert [r.name for r in recs] == list(SEQS)
    assert [decode(r.codes) for r in recs] == [s.upper() for s in SEQS.values()]


def test_a_gt_inside_a_line_is_a_bad_base_not_a_header(tmp_path):
    path = tmp_path / "g.fa"
    path.write_bytes(b">a\nACGT>CC\nGG\n>b\nTT\n")
    with pytest.raises(InputError) as err:
        list(read_fasta(path))
    assert "record a" in str(err.value) and "position 5" in str(err.value) and "'>'" in str(err.value)


def test_fasta_sizes_builds_the_index_where_it_can(tmp_path, fasta, bgzipped):
    import pyfaidx

    from motifscan.io.fasta import build_fai, fasta_sizes, read_fai

    want = {k: len(v) for k, v in SEQS.items()}
    assert read_fai(fasta) is None and fasta_sizes(fasta, build=False) is None
    assert fasta_sizes(fasta) == want  # htslib built it
    ours = (tmp_path / "g.fa.fai").read_text()
    (tmp_path / "g.fa.fai").unlink()
    pyfaidx.Faidx(str(fasta)).close()  # the oracle: pyfaidx's own index of the same file
    assert (tmp_path / "g.fa.fai").read_text() == ours
    assert fasta_sizes(bgzipped) == want and (tmp_path / "g.fa.gz.gzi").exists()
    gz = write_fasta(tmp_path / "p.fa.gz", SEQS.keys(), SEQS.values(), compress=True)
    assert fasta_sizes(gz) is None and fasta_sizes("-") is None
    # what htslib only warns about is refused, and leaves no index behind, also when another
    # reader turned htslib's messages off (motifscan.io.variants does)
    dup = tmp_path / "dup.fa"
    dup.write_text(">a\nACGT\n>b\nACGT\n>a\nAAAA\n")
    quiet = pysam.set_verbosity(0)
    try:
        assert not build_fai(dup) and not (tmp_path / "dup.fa.fai").exists()
        assert pysam.set_verbosity(0) == 0  # and put back as it was
    finally:
        pysam.set_verbosity(quiet)
    uneven = tmp_path / "uneven.fa"
    uneven.write_text(">a\nACGTACGT\nACG\nACGTACGT\n")
    assert fasta_sizes(uneven) is None and not (tmp_path / "uneven.fa.fai").exists()


_RECORD = st.tuples(st.text("ACGTNacgtnRY", max_size=70), st.integers(1, 12))


def _expected_chunks(path, chunk: int, overlap: int) -> list[tuple[str, int, bytes, bool]]:
    """``(name, start, codes, last)`` of every chunk, cut from whole records of the per-record
    reader (the reference)."""
    out = []
    for rec in read_fasta(path):
        n, pos = len(rec.codes), 0
        while n - pos > chunk + overlap:
            out.append((rec.name, pos, rec.codes[pos : pos + chunk + overlap].tobytes(), False))
            pos += chunk
        out.append((rec.name, pos, rec.codes[pos:].tobytes(), True))
    return out


@given(records=st.lists(_RECORD, min_size=1, max_size=12), block=st.integers(1, 64), chunk=st.integers(1, 40),
       overlap=st.integers(0, 20), crlf=st.booleans(), final_newline=st.booleans(), compiled=st.booleans(),
       desc=st.booleans())
@settings(max_examples=160, deadline=None)
def test_block_reader_equals_record_by_record_reading(tmp_path_factory, records, block, chunk, overlap, crlf,
                                                      final_newline, compiled, desc):
    """Records decoded a block at a time (many at once; by numpy steps or by the compiled loop)
    give the chunks and soft-mask flags that record-by-record reading gives, wherever blocks cut
    the file: lowercase, N, IUPAC, empty records, Windows line ends, line widths 1-12."""
    from unittest import mock

    import motifscan.io.fasta as fasta_mod

    nl = "\r\n" if crlf else "\n"
    text = "".join(f">r{i}{f' d{i}' if desc else ''}{nl}" + "".join(seq[k : k + w] + nl for k in range(0, len(seq), w))
                   for i, (seq, w) in enumerate(records))
    if not final_newline:
        text = text.rstrip("\r\n")
    path = tmp_path_factory.mktemp("blk") / "g.fa"
    path.write_bytes(text.encode())
    want = _expected_chunks(path, chunk, overlap)
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", block), \
            mock.patch.object(fasta_mod, "_COMPILED_RECORDS", 1 if compiled else 1 << 30):
        got = list(stream_chunks(path, chunk, overlap, with_mask=True))
    assert [(c.name, c.start, c.codes.tobytes(), c.last) for c in got] == want
    seqs = {f"r{i}": seq for i, (seq, _w) in enumerate(records)}
    for c in got:
        flags = [ch.islower() for ch in seqs[c.name][c.start : c.start + len(c.codes)]]
        assert c.masked.tolist() == flags


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("block", [3, 7, 1 << 22])
def test_block_reader_errors_name_the_record_and_line(tmp_path, block, compiled):
    from unittest import mock

    import motifscan.io.fasta as fasta_mod

    bad = tmp_path / "bad.fa"
    bad.write_bytes(b">a\nACGT\n>b\nAC\n>c\nACGTJ\n>d\nAC\n")
    dup = tmp_path / "dup.fa"
    dup.write_bytes(b">a\nAC\n>b\nAC\n>a\nGT\n")
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", block), \
            mock.patch.object(fasta_mod, "_COMPILED_RECORDS", 1 if compiled else 1 << 30):
        with pytest.raises(InputError, match=r"bad.fa.*record c.*position 5.*'J'"):
            list(stream_chunks(bad, 100))
        with pytest.raises(InputError, match=r"dup.fa.*line 5.*duplicate record name 'a'"):
            list(stream_chunks(dup, 100))


@pytest.mark.parametrize("block", [5, 64, 1 << 22])
@pytest.mark.parametrize("crlf", [False, True])
def test_bad_letter_deep_in_a_long_record_names_its_position(tmp_path, block, crlf):
    """A record read over many blocks (decoded a block at a time): a bad letter is reported at
    its position in the record, white space and line ends not counted; a record read over several
    blocks and left out by ``records`` is not decoded, so its bad letter is not reported."""
    from unittest import mock

    import motifscan.io.fasta as fasta_mod

    rng = np.random.default_rng(3)
    seq = bytearray(rng.choice(list(b"ACGTacgtN"), 1000).astype(np.uint8).tobytes())
    seq[733] = ord("J")
    nl = b"\r\n" if crlf else b"\n"
    body = nl.join(bytes(seq[k : k + 7]) for k in range(0, len(seq), 7))
    path = tmp_path / "long.fa"
    path.write_bytes(b">ok" + nl + b"ACGT" + nl + b">long desc" + nl + body + nl + b">z" + nl + b"AC" + nl)
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", block):
        with pytest.raises(InputError, match=r"long.fa.*record long.*position 734: 'J'"):
            list(stream_chunks(path, 100, 19))
        if block < 1000:  # (a record wholly inside one block is decoded with its block's others)
            assert [c.name for c in stream_chunks(path, 100, 19, records={"ok", "z"})] == ["ok", "z"]


@pytest.mark.parametrize("block", [5, 1 << 22])
def test_names_with_equal_hashes_are_checked_exactly(tmp_path, block):
    """Duplicate names are found by hash; names that only share a hash are told apart by reading
    the names again, so a file of unique names reads even when every hash is the same."""
    from unittest import mock

    import motifscan.io.fasta as fasta_mod

    good = tmp_path / "good.fa"
    good.write_bytes(b">a\nACGT\n>b\nAC\n>c\nACGTA\n>d\nAC\n")
    dup = tmp_path / "dup.fa"
    dup.write_bytes(b">a\nAC\n>b\nAC\n>c\nGT\n>b\nGT\n")
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", block), mock.patch.object(fasta_mod, "hash", lambda s: 7,
                                                                              create=True):
        assert [c.name for c in stream_chunks(good, 100)] == ["a", "b", "c", "d"]
        with pytest.raises(InputError, match=r"dup.fa.*line 7.*duplicate record name 'b'"):
            list(stream_chunks(dup, 100))


def test_fai_rows_parse_as_their_words(tmp_path):
    """The numpy .fai parser gives what splitting each row into words gives (an htslib index of
    records of many lengths and names, LF or CRLF rows), and refuses rows that are not five columns."""
    from motifscan.io.fasta import _parse_fai, read_fai

    rng = np.random.default_rng(5)
    names = [f"s{i}_{'x' * int(rng.integers(0, 30))}" for i in range(3000)]
    write_fasta(tmp_path / "g.fa", names, ["ACGT" * int(n) for n in rng.integers(0, 60, len(names))], width=13)
    pysam.faidx(str(tmp_path / "g.fa"))
    raw = (tmp_path / "g.fa.fai").read_bytes()
    for text in (raw, raw.replace(b"\n", b"\r\n"), raw.rstrip(b"\n")):
        got = _parse_fai(text)
        rows = [line.split() for line in text.decode().splitlines()]
        assert got.names == [r[0] for r in rows]
        np.testing.assert_array_equal(np.c_[got.lengths, got.offsets, got.bases, got.widths],
                                      [[int(v) for v in r[1:]] for r in rows])
    sizes = read_fai(tmp_path / "g.fa")
    want = {r[0]: int(r[1]) for r in (line.split() for line in raw.decode().splitlines())}
    assert sizes == want and dict(sizes) == want and list(sizes.items()) == list(want.items())
    assert names[7] in sizes and "nope" not in sizes and sizes[names[7]] == want[names[7]]
    for bad in (b"a\t1\t2\t3\n", b"a\t1\t2\t3\t4\t5\n", b"a b\t1\t2\t3\t4\n", b"a\t1\t4.5\t3\t4\n", b"\t1\t2\t3\t4\n",
                b"a\t1\t\t3\t4\n", b"a\t1\t2\t3\t4\n\n", b"a\t1\t2 3\t3\t4\n", b"a\t1\t2x\t3\t4\n"):
        with pytest.raises(ValueError):
            _parse_fai(bad)


def test_fai_names_and_numbers_equal_the_numpy_parse(tmp_path):
    """The compiled .fai pass gives the numpy parser's columns and the names as decoding each
    with errors="replace" gives (bytes that are not UTF-8 too); text it does not take (a '+'
    sign) goes to the numpy parser, which accepts it as it always did."""
    from motifscan.io.fasta import _parse_fai, _parse_fai_numpy

    rng = np.random.default_rng(11)
    rows = [(f"r{i}_".encode() + bytes(rng.choice([0x61, 0xC3, 0xA9, 0xFF, 0x5F], int(rng.integers(0, 6)))),
             *(int(x) for x in rng.integers(0, 10**12, 4))) for i in range(500)]
    for newline in (b"\n", b"\r\n"):
        raw = b"".join(b"%s\t%d\t%d\t%d\t%d" % r + newline for r in rows)
        got = _parse_fai(raw)
        assert list(got.names) == [r[0].decode("utf-8", errors="replace") for r in rows]
        assert got.names[3] == rows[3][0].decode("utf-8", errors="replace") and len(got.names) == 500
        columns, spans = _parse_fai_numpy(np.frombuffer(raw, np.uint8), len(rows))
        np.testing.assert_array_equal(np.array([got.lengths, got.offsets, got.bases, got.widths]), columns)
        np.testing.assert_array_equal(columns.T, [r[1:] for r in rows])
    signed = _parse_fai(b"a\t1\t2\t3\t4\nb\t+5\t6\t7\t8\n")
    assert list(signed.names) == ["a", "b"] and signed.lengths.tolist() == [1, 5]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=8),
                max_size=20), st.integers(0, 25), st.integers(0, 25))
def test_record_names_act_as_the_list_of_names(names, lo, hi):
    """RecordNames (names in one buffer) index, slice, iterate and search as the list does."""
    from motifscan.io.names import RecordNames

    rn = RecordNames.from_names(names)
    assert len(rn) == len(names) and list(rn) == names and rn == names and rn.tolist() == names
    assert rn[lo:hi] == names[lo:hi]
    if names:
        assert rn[lo % len(names)] == names[lo % len(names)] and rn[-1] == names[-1]
        assert rn.find(names[lo % len(names)]) == names.index(names[lo % len(names)])
        assert rn.matches(lo % len(names), names[lo % len(names) : hi])
    assert rn.find("\u2603absent") == (names.index("\u2603absent") if "\u2603absent" in names else -1)
    assert not rn.matches(len(names), ["x"]) and not rn.matches(0, [*names, "x"])
    with pytest.raises(IndexError):
        rn[len(names)]


def test_fai_total_needs_no_names(tmp_path):
    """A streamed scan without a bigWig asks the .fai for the total only; a stale index gives none."""
    from motifscan.io.fasta import fai_total, read_fai

    fasta = write_fasta(tmp_path / "g.fa", SEQS.keys(), SEQS.values())
    assert fai_total(fasta) is None
    pysam.faidx(str(fasta))
    assert fai_total(fasta) == sum(read_fai(fasta).values()) == sum(len(s) for s in SEQS.values())
    fai = tmp_path / "g.fa.fai"
    fai.write_text(fai.read_text().replace("chr1", "chrX"))  # a name the file does not hold
    assert fai_total(fasta) is None


def test_ranges_of_a_file_cut_short_since_indexing_is_a_clear_error(tmp_path, fasta):
    fai = FaiFasta.open(fasta)  # the index read now; the file is cut in chr2 before the first read
    data = fasta.read_bytes()
    fasta.write_bytes(data[: data.index(b"GGGGCC")])
    with pytest.raises(InputError, match="record chr2 does not hold the bases its index says"):
        fai.windows(np.array([1]), np.array([0]), 16)
