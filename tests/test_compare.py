"""Tomtom-style comparison: known answers on JASPAR, offsets/strands, calibration, memelite, CLI."""

from __future__ import annotations

import csv
import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from motifscan.motifs import Motif, jaspar_path
from motifscan.io.motif_formats import read_motifs, write_motifs
from motifscan.motifs.compare import (MATCH_COLUMNS, MotifDatabase, best_matches, compare_motifs,
                                      write_matches)


@pytest.fixture(scope="module")
def jaspar():
    return read_motifs(jaspar_path())


@pytest.fixture(scope="module")
def db(jaspar):
    return MotifDatabase(jaspar)




def _by_id(motifs, mid):
    return next(m for m in motifs if m.id == mid)


def test_background_joins_the_null_without_being_a_target(jaspar):
    """``MotifDatabase(targets, background=more)``: the null is the columns of both, as in
    ``MotifDatabase(targets + more)``, so the p-values are those; only targets are reported,
    and E = p * number of targets."""
    queries, targets, more = jaspar[:3], jaspar[3:23], jaspar[23:200]
    whole = {(m.query_id, m.target_id): m for m in compare_motifs(queries, MotifDatabase(targets + more))}
    rows = compare_motifs(queries, MotifDatabase(targets, background=more))
    assert len(rows) == len(queries) * len(targets)
    assert {m.target_id for m in rows} == {t.id for t in targets}
    for m in rows:
        ref = whole[m.query_id, m.target_id]
        assert m.p_value == ref.p_value and m.offset == ref.offset and m.orientation == ref.orientation
        assert m.e_value == pytest.approx(m.p_value * len(targets), rel=1e-12)


def test_ctcf_finds_ctcf(jaspar, db):
    rows = compare_motifs(_by_id(jaspar, "MA0139.2"), db)
    top = rows[0]
    assert top.target_id == "MA0139.2" and top.target_alt == "CTCF"
    assert top.e_value <= 0.05 and top.offset == 0 and top.orientation == "+"
    assert top.overlap == 15
    # the other CTCF matrices come next, well ahead of anything else
    assert {r.target_alt for r in rows[:3]} == {"CTCF"}
    assert rows[0].e_value == pytest.approx(rows[0].p_value * len(jaspar))


@pytest.mark.parametrize("mid", ["MA0139.2", "MA0035.5", "MA0143.5", "MA0080.7", "MA0112.4"])
def test_trimmed_shifted_revcomp_still_matches_itself(jaspar, db, mid):
    target = _by_id(jaspar, mid)
    w = target.width
    lo, hi = 1, w - 1  # drop a column at each end
    core = Motif("q", target.probs[lo:hi])
    flank = np.full((3, 4), 0.25)  # shift: uninformative columns in front
    shifted = Motif("q", np.vstack([flank, core.probs]))
    rc = shifted.reverse_complement()
    (fwd,) = compare_motifs(shifted, db, top=1)
    (rev,) = compare_motifs(rc, db, top=1)
    for hit in (fwd, rev):
        assert hit.target_id == mid, (hit, mid)
        if w >= 10:  # a 5-column core of a short motif is its best match, but not a sure one
            assert hit.e_value < 0.05
    # query column i <-> target column i + offset, in the reported orientation
    assert fwd.orientation == "+" and fwd.offset == lo - 3
    # rc query = reverse complement of target[lo:hi] then 3 flanks at the end:
    # it aligns with the target's reverse complement, whose columns w-hi.. hold the core
    assert rev.orientation == "-" and rev.offset == w - hi


@pytest.mark.parametrize("n_sites", [15, 60])
def test_blurry_exported_like_ctcf_still_finds_ctcf(jaspar, db, n_sites):
    """Like an exported filter: few sampled sites, +1 pseudocounts, 19 wide with flat flanks."""
    ctcf = _by_id(jaspar, "MA0139.2")
    rng = np.random.default_rng(n_sites)
    probs = np.vstack([np.full((2, 4), 0.25), ctcf.probs, np.full((2, 4), 0.25)])
    codes = (rng.random((n_sites, len(probs), 1)) > probs.cumsum(axis=1)[None]).sum(axis=2)
    counts = np.stack([(codes == b).sum(axis=0) for b in range(4)], axis=1) + 1.0
    for q in (Motif.from_counts("filter0", counts), Motif.from_counts("filter0", counts[::-1, ::-1])):
        (hit,) = compare_motifs(q, db, top=1)
        assert hit.target_alt == "CTCF" and hit.e_value <= 0.05


def test_offset_semantics_exact(jaspar, db):
    t = _by_id(jaspar, "MA0139.2")
    (hit,) = compare_motifs(Motif("q", t.probs[4:12]), db, top=1)
    assert (hit.target_id, hit.offset, hit.overlap, hit.orientation) == ("MA0139.2", 4, 8, "+")


def test_null_queries_are_calibrated(db):
    """Queries built from random database columns: p-values roughly uniform, no strong hits."""
    rng = np.random.default_rng(1)
    cols = db.columns[: db.columns.shape[0] // 2]
    queries = [Motif(f"null{i}", cols[rng.integers(0, len(cols), int(rng.integers(6, 20)))])
               for i in range(12)]
    rows = compare_motifs(queries, db)
    p = np.array([r.p_value for r in rows])
    assert len(rows) == 12 * len(db)
    for alpha in (0.1, 0.01):
        assert 0.3 * alpha < (p < alpha).mean() < 2.0 * alpha
    assert min(r.e_value for r in rows) > 0.01


def test_q_values_and_filters(jaspar, db):
    q = _by_id(jaspar, "MA0143.5")
    rows = compare_motifs(q, db)
    p = np.array([r.p_value for r in rows])
    qv = np.array([r.q_value for r in rows])
    assert np.all(np.diff(p) >= 0)  # sorted best first
    assert np.all(qv >= p - 1e-15) and np.all(np.diff(qv) >= -1e-15) and qv.max() <= 1
    # Benjamini-Hochberg by hand
    n = len(p)
    bh = np.minimum.accumulate((p * n / np.arange(1, n + 1))[::-1])[::-1]
    np.testing.assert_allclose(qv, np.minimum(bh, 1), rtol=1e-12)
    few = compare_motifs(q, db, evalue_threshold=1.0)
    assert few and all(r.e_value <= 1.0 for r in few) and len(few) < n
    assert [r.target_id for r in compare_motifs([q, q], db, top=2)] == [r.target_id for r in rows[:2]] * 2


def test_small_database_and_min_overlap():
    rng = np.random.default_rng(0)
    db = [Motif(f"d{i}", rng.dirichlet(np.full(4, 0.5), size=10)) for i in range(40)]
    q = Motif("q", db[7].probs[6:])  # 4 columns: min_overlap caps at the query width
    hits = compare_motifs(q, db, top=1)
    assert hits[0].target_id == "d7" and hits[0].overlap == 4 and hits[0].offset == 6
    with pytest.raises(ValueError):
        compare_motifs(q, db, min_overlap=0)


def test_write_matches(jaspar, db, tmp_path):
    rows = compare_motifs(_by_id(jaspar, "MA0139.2"), db, top=3)
    out = write_matches(rows, tmp_path / "m.tsv")
    with open(out) as fh:
        table = list(csv.DictReader(fh, delimiter="\t"))
    assert tuple(table[0]) == MATCH_COLUMNS
    assert MATCH_COLUMNS[:10] == ("Query_ID", "Target_ID", "Optimal_offset", "p-value", "E-value",
                                  "q-value", "Overlap", "Query_consensus", "Target_consensus",
                                  "Orientation")
    assert len(table) == 3 and table[0]["Target_ID"] == "MA0139.2"
    assert table[0]["Target_alt"] == "CTCF" and float(table[0]["E-value"]) <= 0.05
    assert table[0]["Query_consensus"] == "GCCACCAGGGGGCGC"
    assert best_matches(rows)["MA0139.2"].target_id == "MA0139.2"


def test_cli_compare_logs_one_summary_not_a_line_per_motif(jaspar, tmp_path, capsys):
    """66 query motifs used to print 66 stderr lines: now a start line and one summary; the
    per-motif lines come with --debug."""
    from motifscan.cli._base import main

    query = write_motifs(jaspar[100:166], tmp_path / "q.meme")
    dbfile = write_motifs(jaspar[:200], tmp_path / "db.meme")
    out = tmp_path / "matches.tsv"
    assert main(["compare", str(query), "--db", str(dbfile), "-o", str(out), "--top", "1"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) <= 2, lines
    assert "of 66 motifs match with E <= 10" in lines[-1] and str(out) in lines[-1]
    assert main(["--debug", "compare", str(query), "--db", str(dbfile), "-o", str(out), "--top", "1"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert sum(1 for ln in lines if ": best match " in ln or ": no match with " in ln) == 66


def test_cli_compare(jaspar, tmp_path, capsys):
    from motifscan.cli._base import main

    query = write_motifs([_by_id(jaspar, "MA0139.2"), _by_id(jaspar, "MA0035.5")],
                         tmp_path / "q.jaspar")
    out = tmp_path / "matches.tsv"
    assert main(["compare", str(query), "-o", str(out), "--top", "2"]) == 0
    with open(out) as fh:
        table = list(csv.DictReader(fh, delimiter="\t"))
    assert [r["Query_ID"] for r in table] == ["MA0139.2"] * 2 + ["MA0035.5"] * 2
    assert table[0]["Target_alt"] == "CTCF" and table[2]["Target_alt"] == "GATA1"
    assert "2 of 2 motifs match with E <= 10" in capsys.readouterr().err
    # explicit --db and an E-value threshold nothing passes
    dbfile = write_motifs(jaspar[:60], tmp_path / "small.meme")
    assert main(["compare", str(query), "--db", str(dbfile), "-o", str(out),
                 "--evalue-threshold", "0"]) == 0
    assert out.read_text().splitlines() == ["\t".join(MATCH_COLUMNS)]
    # usage error: missing output directory (exit 2, nothing written)
    assert main(["compare", str(query), "-o", str(tmp_path / "no" / "m.tsv")]) == 2


def _memelite_ready() -> bool:
    """memelite's Tomtom kernels are compiled already (numba cache), or the user asks for it."""
    if os.environ.get("MOTIFSCAN_MEMELITE_TOMTOM") == "1":
        return True
    spec = importlib.util.find_spec("memelite")  # not imported: numba makes that slow
    return any(Path(spec.origin).parent.glob("__pycache__/tomtom._tomtom-*.nbi"))


@pytest.mark.slow
@pytest.mark.skipif(not _memelite_ready(), reason=(
    "opt-in: memelite compiles its numba Tomtom on first use (~2 min on 2 cores); set "
    "MOTIFSCAN_MEMELITE_TOMTOM=1 or run benchmarks/compare_bench.py once"))
def test_cross_check_with_memelite_tomtom(jaspar):
    """Our engine with Euclidean columns vs memelite's numba Tomtom (same distance).

    memelite compiles its kernels on first use (minutes on a cold cache), hence the guard.
    """
    import memelite

    rng = np.random.default_rng(0)
    picks = rng.choice(len(jaspar), 8, replace=False)
    agree, rhos = 0, []
    for i in picks:
        q = jaspar[i]
        rest = [m for j, m in enumerate(jaspar) if j != i]
        ours = {r.target_id: r.p_value for r in compare_motifs(q, rest, distance="ed", min_overlap=1)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = memelite.tomtom([q.probs.T.copy()], [m.probs.T.copy() for m in rest], n_jobs=1)[0][0]
        mine = np.array([ours[m.id] for m in rest])
        agree += int(np.argmin(mine) == np.argmin(p))
        r_mine = np.argsort(np.argsort(mine))
        r_theirs = np.argsort(np.argsort(p))
        rhos.append(np.corrcoef(r_mine, r_theirs)[0, 1])
        # p-values of memelite's best match agree within a factor of 10
        best = int(np.argmin(p))
        assert abs(np.log10(mine[best]) - np.log10(p[best])) < 1.0
    assert agree >= 6
    assert np.median(rhos) > 0.99


def test_wide_query_costs_its_width_times_the_widest_target(monkeypatch):
    """A 120-wide query against 8-wide targets: one convolution per (column, span up to 8), not per
    pair of query columns (120**2 / 2), which made a 1,000-wide query run for minutes."""
    import motifscan.motifs.compare as compare

    rng = np.random.default_rng(4)
    query = Motif("wide", rng.dirichlet([0.5] * 4, 120))
    db = compare.MotifDatabase([Motif(f"t{i}", rng.dirichlet([0.5] * 4, 8)) for i in range(6)])
    calls = []
    real = np.convolve
    monkeypatch.setattr(compare.np, "convolve", lambda a, b: calls.append(1) or real(a, b))
    rows = compare._compare_one(query, db, 5, "pearson")
    assert len(rows) == 6 and all(0 <= r[0] <= 1 for r in rows)
    assert len(calls) <= 120 * 8
