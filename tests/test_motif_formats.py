"""Motif type and motif file formats: round trips, other tools' readers, loud errors, fuzzing."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motifscan.errors import InputError, UsageError
from motifscan.io.motif_formats import FORMATS, detect_format, read_meme_background
from motifscan.motifs import Motif, jaspar_path
from motifscan.io.motif_formats import read_motifs, write_motifs
from motifscan.io.motif_formats import HOMER_THRESHOLD_FRACTION, homer_threshold

EXT = {"meme": ".meme", "jaspar": ".jaspar", "transfac": ".transfac", "homer": ".motif"}


@pytest.fixture(scope="module")
def jaspar():
    return read_motifs(jaspar_path())


@pytest.fixture(scope="module")
def mixed(jaspar):
    """Real JASPAR motifs plus random ones (odd nsites, zeros, awkward ids)."""
    rng = np.random.default_rng(3)
    rand = []
    for i in range(6):
        p = rng.dirichlet(np.full(4, 0.4), size=int(rng.integers(1, 25)))
        p[rng.random(p.shape) < 0.1] = 0.0
        p[p.sum(axis=1) == 0, 0] = 1.0
        rand.append(Motif(f"rand{i}", p, nsites=int(rng.integers(1, 5000)), alt=f"R{i}"))
    return jaspar[:40] + [m for m in jaspar if m.id == "MA0139.2"] + rand


def _tol(m: Motif) -> float:
    return 2e-6  # 6 printed decimals, then renormalised




# ------------------------------------------------------------------------------- Motif type
def test_jaspar_bundled(jaspar):
    assert jaspar_path().is_file()
    assert len(jaspar) == 879
    ctcf = [m for m in jaspar if m.id == "MA0139.2"]
    assert len(ctcf) == 1 and ctcf[0].alt == "CTCF" and ctcf[0].width == 15
    assert all(np.allclose(m.probs.sum(axis=1), 1) for m in jaspar)


def test_motif_basics():
    counts = np.array([[10, 0, 0, 0], [0, 5, 5, 0], [3, 3, 2, 2], [0, 0, 0, 10]], float)
    m = Motif.from_counts("a b=c", counts, alt="X")
    assert m.nsites == 10 and m.width == 4
    np.testing.assert_allclose(m.counts, counts)
    ic = m.information_content()
    np.testing.assert_allclose(ic[[0, 1, 3]], [2.0, 1.0, 2.0])
    assert 0 < ic[2] < 0.1
    assert m.total_ic() == pytest.approx(ic.sum())
    lo = m.log_odds()
    assert lo[0, 0] == pytest.approx(2.0) and lo[0, 1] == -np.inf
    lo1 = m.log_odds(pseudocount=0.1)
    assert lo1[0, 1] == pytest.approx(np.log2((0 + 0.1 * 0.25) / 10.1 / 0.25))
    assert np.isfinite(lo1).all()
    rc = m.reverse_complement()
    np.testing.assert_allclose(rc.probs[0], [10 / 10, 0, 0, 0])  # T column reversed -> A
    assert rc.reverse_complement() == m
    assert m.consensus == "ACAT"


def test_trim_keeps_core_and_never_empties():
    p = np.full((7, 4), 0.25)
    p[2] = [0.97, 0.01, 0.01, 0.01]
    p[4] = [0.01, 0.01, 0.97, 0.01]
    t = Motif("m", p).trim(0.5)
    assert t.width == 3 and t.consensus[0] == "A" and t.consensus[-1] == "G"
    assert Motif("flat", np.full((5, 4), 0.25)).trim().width == 1


def test_motif_rejects_bad_matrices():
    with pytest.raises(ValueError):
        Motif("x", np.zeros((0, 4)))
    with pytest.raises(ValueError):
        Motif("x", [[0.5, 0.5, 0.1, -0.1]])
    with pytest.raises(ValueError):
        Motif.from_counts("x", [[0, 0, 0, 0]])


# ------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_every_format(fmt, mixed, tmp_path):
    path = write_motifs(mixed, tmp_path / f"m{EXT[fmt]}")
    back = read_motifs(path)
    assert len(back) == len(mixed)
    for a, b in zip(mixed, back):
        assert b.probs.shape == a.probs.shape
        np.testing.assert_allclose(b.probs, a.probs, atol=_tol(a), rtol=0)
        assert b.id == a.id
        if fmt != "homer":  # HOMER files carry neither alt names nor site counts
            assert b.alt == a.alt and b.nsites == a.nsites
    # a second trip does not drift
    again = read_motifs(write_motifs(back, tmp_path / f"again{EXT[fmt]}"))
    for a, b in zip(mixed, again):
        np.testing.assert_allclose(b.probs, a.probs, atol=_tol(a), rtol=0)


def test_meme_exact_layout_and_background(tmp_path):
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    m = Motif("my motif", [[0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0]], nsites=7.6, alt="TF 1",
              background=bg, url="http://x.org/m")
    text = write_motifs([m], tmp_path / "m.meme").read_text()
    assert text.startswith("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
                           "Background letter frequencies\n"
                           "A 0.300000 C 0.200000 G 0.200000 T 0.300000\n\n")
    assert "MOTIF my_motif TF_1\n" in text
    assert "letter-probability matrix: alength= 4 w= 2 nsites= 8 E= 0\n" in text
    assert " 0.100000  0.200000  0.300000  0.400000\n 1.000000  0.000000  0.000000  0.000000\n\n" in text
    (back,) = read_motifs(tmp_path / "m.meme")
    np.testing.assert_allclose(back.background, bg)
    assert back.url == "http://x.org/m" and back.nsites == 8
    np.testing.assert_allclose(read_meme_background(tmp_path / "m.meme"), bg)


def test_explicit_background_and_markov_file(tmp_path):
    bgfile = tmp_path / "bg.txt"
    bgfile.write_text("# order-0 from fasta-get-markov\nA 0.32\nC 0.18\nG 0.18\nT 0.32\n"
                      "# order 1\nAA 0.1\n")
    bg = read_meme_background(bgfile)
    np.testing.assert_allclose(bg, [0.32, 0.18, 0.18, 0.32])
    write_motifs([Motif("a", np.eye(4))], tmp_path / "m.meme", background=bg)
    np.testing.assert_allclose(read_motifs(tmp_path / "m.meme")[0].background, bg)
    bad = tmp_path / "bad.txt"
    bad.write_text("A 0.5\nC 0.5\nG x\n")
    with pytest.raises(InputError, match=re.escape(f"{bad}:line 3")):
        read_meme_background(bad)


def test_homer_threshold_rule(tmp_path):
    p = np.array([[0.97, 0.01, 0.01, 0.01], [0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    m = Motif("h", p)
    best = np.log(0.97 / 0.25) + np.log(0.997 / 0.25)  # 1.0 -> floored/renormalised 0.997
    assert homer_threshold(m) == pytest.approx(HOMER_THRESHOLD_FRACTION * best, rel=1e-3)
    header = write_motifs([m], tmp_path / "h.motif").read_text().splitlines()[0]
    cons, name, thr = header.split("\t")
    assert header.startswith(">") and cons == ">ACA" and name == "h"
    assert float(thr) == pytest.approx(homer_threshold(m), abs=1e-6)


def test_detect_format(tmp_path):
    assert detect_format("x.meme") == "meme"
    assert detect_format("x.JASPAR") == "jaspar"
    assert detect_format("x.dat") == "transfac"
    assert detect_format("x.motif") == "homer"
    assert detect_format("x.txt", "transfac") == "transfac"
    with pytest.raises(UsageError, match="--format"):
        detect_format("x.txt")
    with pytest.raises(UsageError):
        detect_format("x.meme", "pfm")
    with pytest.raises(InputError, match="not found"):
        read_motifs(tmp_path / "missing.meme")


# ------------------------------------------------------------------------------- other readers
def test_biopython_reads_our_files(mixed, tmp_path):
    from Bio import motifs

    for fmt, bio in (("meme", "minimal"), ("jaspar", "jaspar"), ("transfac", "transfac")):
        path = write_motifs(mixed, tmp_path / f"m{EXT[fmt]}")
        with open(path) as fh:
            theirs = list(motifs.parse(fh, bio))
        assert len(theirs) == len(mixed), fmt
        for ours, b in zip(mixed, theirs):
            counts = np.array([b.counts[x] for x in "ACGT"], dtype=float).T
            # Biopython's "minimal" parser rounds p * nsites to whole counts; the others are exact
            slack = 0.5 if fmt == "meme" else 0.0
            np.testing.assert_allclose(counts, ours.counts, atol=slack + 1e-5 * ours.nsites,
                                       rtol=0, err_msg=fmt)
        names = [getattr(b, "name", None) or getattr(b, "matrix_id", None) for b in theirs]
        if fmt in ("meme", "jaspar"):
            assert names[0] == mixed[0].id or theirs[0].matrix_id == mixed[0].id
        if fmt == "transfac":
            assert theirs[0]["AC"] == mixed[0].id


def test_transfac_names_every_motif_for_biopython_and_round_trips(tmp_path):
    """Every TRANSFAC record has AC (id), ID and NA (the name: alt, else the id), so Biopython
    -- whose TRANSFAC parser fills no ``.name`` for any file -- gives each motif a name as
    ``motif["NA"]``; our reader still gives back id and alt (none when there was none)."""
    from Bio import motifs as bio_motifs

    p = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.25, 0.25, 0.25, 0.25]])
    ours = [Motif("filter3", p, nsites=20), Motif("MA0139.2", p, nsites=10, alt="CTCF"),
            Motif("m 2", p, nsites=5, alt="TF one")]
    path = write_motifs(ours, tmp_path / "m.transfac")
    with open(path) as fh:
        theirs = list(bio_motifs.parse(fh, "transfac", strict=True))
    assert [(t["AC"], t["ID"], t["NA"]) for t in theirs] == [
        ("filter3", "filter3", "filter3"), ("MA0139.2", "CTCF", "CTCF"), ("m_2", "TF_one", "TF_one")]
    for m, t in zip(ours, theirs):
        np.testing.assert_allclose(np.array([t.counts[b] for b in "ACGT"]).T, m.counts, atol=1e-6)
    back = read_motifs(path)
    assert [(b.id, b.alt) for b in back] == [("filter3", ""), ("MA0139.2", "CTCF"), ("m_2", "TF_one")]
    # a foreign file whose NA differs from its AC keeps NA as the alternate name
    foreign = tmp_path / "f.transfac"
    foreign.write_text("AC  M00001\nXX\nNA  MyoD\nXX\nP0  A C G T\n01  1 2 3 4\nXX\n//\n")
    assert [(m.id, m.alt) for m in read_motifs(foreign)] == [("M00001", "MyoD")]


def test_memelite_reads_our_meme_including_last(mixed, tmp_path):
    import memelite.io as mio

    path = write_motifs(mixed, tmp_path / "m.meme")
    theirs = mio.read_meme(str(path))
    assert len(theirs) == len(mixed)
    for ours, (key, pwm) in zip(mixed, theirs.items()):
        assert key.split()[0] == ours.id
        np.testing.assert_allclose(pwm.T, ours.probs, atol=1e-6, rtol=0)


def test_meme_suite_reads_our_meme(mixed, tmp_path):
    """The MEME suite's own C parser (through pymemesuite) reads every motif."""
    import pymemesuite.common as common

    path = write_motifs(mixed, tmp_path / "m.meme")
    with common.MotifFile(str(path), pseudocount=0.0) as mf:
        theirs = list(mf)
    assert len(theirs) == len(mixed)
    for ours, m in zip(mixed, theirs):
        assert m.accession.decode() == ours.id and m.width == ours.width
        np.testing.assert_allclose(np.asarray(m.frequencies), ours.probs, atol=2e-6, rtol=0)


# ------------------------------------------------------------------------------- tolerance
def test_crlf_comments_and_missing_optional_lines(tmp_path):
    text = ("# exported by hand\r\nMEME version 4\r\n\r\nALPHABET= ACGT\r\n\r\n"
            "MOTIF one\r\nletter-probability matrix: alength= 4 w= 2\r\n"
            "0.25 0.25 0.25 0.25\r\n0.1 0.2 0.3 0.4\r\n"
            "MOTIF two TWO\r\nletter-probability matrix:\r\n 0.5 0.5 0 0\r\n")
    path = tmp_path / "crlf.meme"
    path.write_bytes(text.encode())
    one, two = read_motifs(path)
    assert (one.id, one.width, two.id, two.alt, two.width) == ("one", 2, "two", "TWO", 1)
    np.testing.assert_allclose(one.background, 0.25)
    jas = tmp_path / "x.jaspar"
    jas.write_bytes(b">MA1 name with spaces\r\nA [1 2]\r\nC [ 1 0 ]\r\nG [0 0]\r\nT [0 0]\r\n"
                    b">MA2\r\n1 2\r\n3 4\r\n5 6\r\n7 8\r\n")
    a, b = read_motifs(jas)
    assert a.alt == "name with spaces" and a.nsites == 2 and b.id == "MA2"
    np.testing.assert_allclose(b.probs[0], np.array([1, 3, 5, 7]) / 16)


def test_rows_off_by_rounding_are_renormalised(tmp_path):
    path = tmp_path / "r.meme"
    path.write_text("MEME version 4\n\nMOTIF a\nletter-probability matrix: w= 1\n"
                    "0.251 0.251 0.251 0.251\n\n")
    (m,) = read_motifs(path)
    np.testing.assert_allclose(m.probs, 0.25)


# ------------------------------------------------------------------------------- loud errors
MEME_HEAD = "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1 alt\n"
BAD_MEME = {
    "malformed row": (MEME_HEAD + "letter-probability matrix: w= 2\n0.25 0.25 0.25 0.25\n0.25 x 0.25 0.25\n",
                      8, "not a number"),
    "wrong columns": (MEME_HEAD + "letter-probability matrix: w= 1\n0.5 0.5 0\n", 7, "4 probabilities"),
    "negative": (MEME_HEAD + "letter-probability matrix: w= 1\n0.5 0.6 -0.1 0\n", 7, "negative"),
    "row sum": (MEME_HEAD + "letter-probability matrix: w= 1\n0.5 0.5 0.5 0\n", 7, "sum to 1.5"),
    "zero width": (MEME_HEAD + "letter-probability matrix: w= 0\n", 6, "positive integer"),
    "no rows": (MEME_HEAD + "letter-probability matrix:\nMOTIF m2\n", 6, "no rows"),
    "w mismatch": (MEME_HEAD + "letter-probability matrix: w= 3\n1 0 0 0\n0 1 0 0\n\n", 6, "w= 3 but"),
    "too many rows": (MEME_HEAD + "letter-probability matrix: w= 1\n1 0 0 0\n0 1 0 0\n", 8, "more matrix rows"),
    "no matrix": (MEME_HEAD + "\n", 5, "no letter-probability matrix"),
    "no motifs": ("MEME version 4\n\nALPHABET= ACGT\n", 1, "no motifs"),
    "protein": ("MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", 2, "not DNA"),
    "nan": (MEME_HEAD + "letter-probability matrix: w= 1\nnan 0 0 1\n", 7, "finite"),
}


@pytest.mark.parametrize("case", sorted(BAD_MEME))
def test_malformed_meme_names_file_and_line(case, tmp_path):
    text, line, msg = BAD_MEME[case]
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(msg)) as err:
        read_motifs(path)
    assert str(err.value).startswith(f"{path}:line {line}: ")


BAD_OTHER = {
    ("jaspar", "missing row"): (">MA1 x\nA [1 2]\nC [1 2]\nG [1 2]\n", 1, "3 of the 4 rows"),
    ("jaspar", "ragged"): (">MA1 x\nA [1 2]\nC [1 2]\nG [1 2]\nT [1 2 3]\n", 1, "different lengths"),
    ("jaspar", "negative"): (">MA1 x\nA [1 2]\nC [1 -2]\n", 3, "negative"),
    ("jaspar", "garbage"): (">MA1 x\nA [1 2]\nhello\n", 3, "expected a row"),
    ("jaspar", "empty column"): (">MA1\nA [1 0]\nC [1 0]\nG [1 0]\nT [1 0]\n", 1, "column 2 has no counts"),
    ("transfac", "columns"): ("AC  M1\nP0  A C G T\n01  1 2 3\n//\n", 3, "expected 4 counts"),
    ("transfac", "numbering"): ("AC  M1\nP0  A C G T\n01  1 2 3 4\n03  1 2 3 4\n//\n", 4, "expected 02"),
    ("transfac", "header"): ("AC  M1\nP0  A C G\n", 2, "A C G T"),
    ("transfac", "zero width"): ("AC  M1\nP0  A C G T\nXX\n//\n", 2, "zero width"),
    ("homer", "header"): (">ACGT\n0.25 0.25 0.25 0.25\n", 1, "HOMER header"),
    ("homer", "row sum"): (">A\tm\t3.0\n0.9 0.9 0 0\n", 2, "sum to 1.8"),
    ("homer", "threshold"): (">A\tm\tabc\n1 0 0 0\n", 1, "not a number"),
    ("homer", "no motifs"): ("\n\n", 1, "no motifs"),
}


@pytest.mark.parametrize("key", sorted(BAD_OTHER))
def test_malformed_other_formats_name_file_and_line(key, tmp_path):
    fmt, _ = key
    text, line, msg = BAD_OTHER[key]
    path = tmp_path / f"bad{EXT[fmt]}"
    path.write_text(text)
    with pytest.raises(InputError, match=re.escape(msg)) as err:
        read_motifs(path)
    assert str(err.value).startswith(f"{path}:line {line}: ")


def test_cli_reports_malformed_motif_file(tmp_path, capsys):
    from motifscan.cli._base import main

    path = tmp_path / "bad.meme"
    path.write_text(BAD_MEME["negative"][0])
    assert main(["compare", str(path), "-o", str(tmp_path / "out.tsv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"motifscan: error: {path}:line 7: negative probability")
    assert not (tmp_path / "out.tsv").exists()


# ------------------------------------------------------------------------------- fuzzing
_alphabet = st.sampled_from(list("ACGT0123456789.-+eE [] >/\t\n\r=:#xXPMOTIFletr-pobaiymn") +
                            ["MOTIF ", "letter-probability matrix: ", "w= ", "P0  A C G T\n", "01  ",
                             "//\n", "A [", "Background letter frequencies\n", "nan", "inf", "1e309"])


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(_alphabet, max_size=60), raw=st.text(max_size=80))
def test_fuzz_readers_raise_only_input_error(fmt, pieces, raw, tmp_path):
    path = tmp_path / f"fuzz{EXT[fmt]}"
    path.write_text("".join(pieces) + raw, encoding="utf-8", errors="surrogatepass")
    try:
        motifs = read_motifs(path)
    except InputError as exc:
        assert str(exc).startswith(str(path))
    else:
        assert motifs and all(isinstance(m, Motif) for m in motifs)
        assert all(np.allclose(m.probs.sum(axis=1), 1) for m in motifs)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3), st.sampled_from(
    list("0123456789.- \n\t[]>-eXAC/=") + ["nan", "-1", "\n\n", "MOTIF z\n", "01  "])), max_size=8))
def test_fuzz_mutated_valid_files(fmt, edits, tmp_path):
    """Valid files with a few random deletions/insertions: motifs or InputError, nothing else."""
    good = [Motif("a", [[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]], alt="A"),
            Motif("b", np.eye(4)[[0, 2, 1]], nsites=9)]
    text = write_motifs(good, tmp_path / f"good{EXT[fmt]}").read_text()
    for where, op, piece in edits:
        i = int(where * len(text))
        if op == 0:
            text = text[:i] + text[i + len(piece):]
        elif op == 1:
            text = text[:i] + piece + text[i:]
        else:
            text = text[:i] + piece + text[i + len(piece):]
    path = tmp_path / f"mut{EXT[fmt]}"
    path.write_text(text)
    try:
        motifs = read_motifs(path)
    except InputError as exc:
        assert str(exc).startswith(f"{path}:line ")
    else:
        assert all(isinstance(m, Motif) and np.allclose(m.probs.sum(axis=1), 1) for m in motifs)


def test_reads_meme_full_output_and_foreign_layouts(tmp_path):
    """MEME's meme.txt (log-odds blocks, MOTIF lines with statistics), JASPAR's TRANSFAC and
    HOMER's own headers."""
    meme = tmp_path / "meme.meme"
    meme.write_text(
        "MEME version 5.5.4\n\nALPHABET= ACGT\nBackground letter frequencies (from file `bg'):\n"
        "A 0.29500 C 0.20500 G 0.20500 T 0.29500\n"
        "MOTIF GCCASYAG MEME-1\twidth =   2  sites = 300  llr = 4000  E-value = 1.2e-100\n"
        "log-odds matrix: alength= 4 w= 2 n= 2856 bayes= 7.0 E= 1.2e-100\n"
        "  -76   163  -1   -5\n  -76   163  -1   -5\n---------\n"
        "letter-probability matrix: alength= 4 w= 2 nsites= 300 E= 1.2e-100\n"
        "  0.1  0.7  0.1  0.1\n  0.4  0.2  0.3  0.1\n---------\nTime  0.50 secs.\n")
    (m,) = read_motifs(meme)
    assert (m.id, m.alt, m.nsites, m.width) == ("GCCASYAG", "MEME-1", 300, 2)
    np.testing.assert_allclose(m.background, [0.295, 0.205, 0.205, 0.295])
    tf = tmp_path / "jaspar.transfac"
    tf.write_text("VV  TRANSFAC MATRIX TABLE\nXX\n//\nAC MA0139.2\nXX\nID CTCF\nXX\n"
                  "PO      A      C      G      T\n01     87    291     80    453\n"
                  "02    167    153    522     68\nXX\nCC tax_group:vertebrates\nXX\n//\n")
    (t,) = read_motifs(tf)
    assert (t.id, t.alt, t.nsites, t.width) == ("MA0139.2", "CTCF", 910, 2)
    hm = tmp_path / "homer.motif"
    hm.write_text(">GC\tCTCF(Zf)/CD4+-CTCF-ChIP-Seq(Barski_et_al.)/Homer\t8.364\t-1.2e+04\t0\tT:1\n"
                  "0.102\t0.320\t0.093\t0.485\n0.184\t0.167\t0.575\t0.074\n")
    (h,) = read_motifs(hm)
    assert h.id == "CTCF(Zf)/CD4+-CTCF-ChIP-Seq(Barski_et_al.)/Homer" and h.width == 2
