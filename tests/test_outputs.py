"""Writers: formats from extensions, bins, streaming peak merging, bigWig both ways, atomicity."""

from __future__ import annotations

import numpy as np
import pyBigWig
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motifscan.errors import UsageError
from motifscan.io.tracks import BedGraphWriter, BigWigWriter, _lines, window_bins
from motifscan.io.hits import HitsWriter
from motifscan.io.peaks import PeakWriter
from motifscan.io.records import RecordsWriter
from motifscan.io.outputs import output_format
from motifscan.scan.model_scan import Hit, RecordScore, WindowScores


def ws(names, rows, starts, scores, finished=None):
    return WindowScores(list(names), np.array(rows), np.array(starts, dtype=np.int64),
                        np.array(scores, dtype=np.float32)[:, None], finished or {})


def test_output_format():
    assert output_format("a.bw") == "bigwig" and output_format("a.bedGraph") == "bedgraph"
    assert output_format("a.narrowPeak") == "peaks" and output_format("x.tsv") == "tsv"
    assert output_format("x.anything", "peaks") == "peaks"
    with pytest.raises(UsageError):
        output_format("x.foo")


def test_window_bins_tile_without_overlap():
    starts = np.arange(0, 1000, 50)
    a, b = window_bins(starts, 200, 50)
    assert (a[1:] == b[:-1]).all() and (a == starts + 75).all()
    a, b = window_bins(np.array([0, 300]), 100, 300)  # stride > window: the window itself
    assert a.tolist() == [0, 300] and b.tolist() == [100, 400]


def test_peaks_merge_across_batches_and_stop_at_chromosomes(tmp_path):
    out = tmp_path / "p.bed"
    with PeakWriter(out, window=100, threshold=0.5) as w:
        w.write(ws(["c1"], [0, 0, 0, 0], [0, 50, 100, 300], [0.6, 0.9, 0.7, 0.2]))
        w.write(ws(["c1", "c2"], [0, 0, 1], [200, 400, 0], [0.55, 0.8, 0.95]))
    rows = [ln.split("\t") for ln in out.read_text().splitlines()]
    # c1: windows 0,50,100,200 overlap/touch -> [0, 300); 400 alone; c2 alone
    assert [(r[0], int(r[1]), int(r[2])) for r in rows] == [("c1", 0, 300), ("c1", 400, 500), ("c2", 0, 100)]
    assert float(rows[0][6]) == pytest.approx(0.9) and int(rows[0][9]) == 100  # summit: centre of window 50
    assert int(rows[0][4]) == 900 and rows[0][3] == "c1:0-300"


def _naive_peaks(windows, window: int, threshold: float) -> list[tuple]:
    """Window by window: merge those >= threshold that overlap or touch (best value, first on ties)."""
    peaks, cur = [], None
    for chrom, q, v in windows:
        if v < threshold:
            continue
        if cur is not None and cur[0] == chrom and q <= cur[2]:
            cur[2] = max(cur[2], q + window)
            if v > cur[3]:
                cur[3], cur[4] = v, q + window // 2
        else:
            if cur is not None:
                peaks.append(tuple(cur))
            cur = [chrom, q, q + window, v, q + window // 2]
    return peaks + ([tuple(cur)] if cur is not None else [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n=st.integers(1, 120), stride=st.sampled_from([10, 50, 100, 150]),
       levels=st.integers(2, 6))
def test_peaks_equal_a_window_by_window_merge_for_any_batching(tmp_path, data, n, stride, levels):
    """Peaks of the vectorised writer equal the window-by-window merge, however windows are batched
    (ties of the best value included: scores on a coarse grid)."""
    window = 100
    chroms = data.draw(st.lists(st.sampled_from(["c1", "c2", "c3"]), min_size=n, max_size=n))
    chroms.sort()
    scores = data.draw(st.lists(st.integers(0, levels), min_size=n, max_size=n))
    gaps = data.draw(st.lists(st.sampled_from([1, 1, 1, 2, 3]), min_size=n, max_size=n))
    windows, pos = [], {}
    for c, v, g in zip(chroms, scores, gaps):
        pos[c] = pos.get(c, -stride) + g * stride
        windows.append((c, pos[c], np.float32(v / levels)))
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=6)) if n > 1 else [])
    out = tmp_path / f"p{n}_{stride}_{levels}.bed"
    with PeakWriter(out, window=window, threshold=0.5) as w:
        for a, b in zip([0, *cuts], [*cuts, n]):
            part = windows[a:b]
            names = sorted({c for c, _q, _v in part})
            w.write(ws(names, [names.index(c) for c, _q, _v in part], [q for _c, q, _v in part],
                       [v for _c, _q, v in part]))
    got = [ln.split("\t") for ln in out.read_text().splitlines()]
    want = _naive_peaks(windows, window, 0.5)
    assert [(r[0], int(r[1]), int(r[2]), float(r[6]), int(r[1]) + int(r[9])) for r in got] == \
        [(c, a, b, float(f"{float(v):.6g}"), sm) for c, a, b, v, sm in want]


def test_bigwig_direct_and_via_bedgraph_agree(tmp_path):
    batches = [ws(["a", "b"], [0, 0, 1], [0, 10, 0], [0.1, 0.2, 0.3], {"a": 60}),
               ws(["b"], [0, 0], [10, 20], [0.4, 0.5], {"b": 45})]
    direct, late = tmp_path / "d.bw", tmp_path / "l.bw"
    with BigWigWriter(direct, 20, 10, {"a": 60, "b": 45}) as w:
        for b in batches:
            w.write(b)
    with BigWigWriter(late, 20, 10, None) as w:
        for b in batches:
            w.write(b)
    for path in (direct, late):
        with pyBigWig.open(str(path)) as f:
            assert f.chroms() == {"a": 60, "b": 45}
            assert f.intervals("a") == ((5, 15, pytest.approx(0.1)), (15, 25, pytest.approx(0.2)))
            assert [round(v, 5) for *_x, v in f.intervals("b")] == [0.3, 0.4, 0.5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.bw", "l.bw"]


def test_writers_are_atomic(tmp_path):
    out = tmp_path / "t.bedGraph"
    out.write_text("old\n")
    with pytest.raises(RuntimeError):
        with BedGraphWriter(out, 20, 10) as w:
            w.write(ws(["a"], [0], [0], [0.5]))
            raise RuntimeError("boom")
    assert out.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["t.bedGraph"]
    with pytest.raises(RuntimeError):
        with BigWigWriter(tmp_path / "x.bw", 20, 10, None) as w:
            w.write(ws(["a"], [0], [0], [0.5], {"a": 30}))
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.bedGraph"]


def test_hits_and_records_text(tmp_path):
    hits, recs = tmp_path / "h.bed", tmp_path / "r.tsv"
    with HitsWriter(hits) as w:
        w.write([Hit("c1", 5, 17, "filter0", 4.0, "-", "GCCACTAGGTGG")])
    assert hits.read_text() == "c1\t5\t17\tfilter0\t4\t-\tGCCACTAGGTGG\n"
    with RecordsWriter(recs, ["bound", "open"], ["filter0", "filter1"]) as w:
        w.write([RecordScore("r1", 100, np.array([0.25, 0.5]), 3, "+", 1), RecordScore("r2", 2, None)])
    assert recs.read_text().splitlines() == [
        "name\tlength\tscore\tscore_bound\tscore_open\tbest_position\tstrand\ttop_filter",
        "r1\t100\t0.25\t0.25\t0.5\t3\t+\tfilter1",
    ]


def test_one_format_registry():
    """The CLI's --format choices, the extension tables and the writers all come from the registry."""
    import click

    from motifscan.cli.scan import scan
    from motifscan.io.outputs import FORMAT_CHOICES, HIT_FORMAT_TABLE, MODEL_FORMATS, WindowTarget, hit_output_format

    (fmt_option,) = [p for p in scan.params if p.name == "fmt"]
    assert isinstance(fmt_option.type, click.Choice) and tuple(fmt_option.type.choices) == FORMAT_CHOICES
    assert set(FORMAT_CHOICES) == set(MODEL_FORMATS) | set(HIT_FORMAT_TABLE)
    for table, lookup in ((MODEL_FORMATS, output_format), (HIT_FORMAT_TABLE, hit_output_format)):
        for spec in table.values():
            for ext in spec.extensions:
                assert lookup(f"out{ext}") == spec.name
            assert lookup("x.unknown", spec.name) == spec.name
    windows = [s for s in MODEL_FORMATS.values() if s.mode == "windows"]
    assert windows and all(s.writer is not None for s in windows)
    assert all(s.writer is None for s in MODEL_FORMATS.values() if s.mode != "windows")


def test_window_writers_from_the_registry(tmp_path):
    from motifscan.io.outputs import MODEL_FORMATS, WindowTarget

    target = WindowTarget(window=10, stride=5, threshold=0.5, sizes={"chr1": 100})
    for spec in MODEL_FORMATS.values():
        if spec.writer is not None:
            path = tmp_path / f"x{spec.extensions[0]}"
            with spec.writer(path, target) as w:
                assert type(w).__module__.startswith("motifscan.io.")
            assert path.exists()


def test_break_rows_are_written_by_column_name(tmp_path):
    from motifscan.io.variants import BREAK_COLUMNS, BreaksWriter

    path = tmp_path / "b.tsv"
    with BreaksWriter(path) as w:
        w.write([{"chrom": "chr1", "pos": "5", "ref_check": "mismatch"},
                 {c: c.upper() for c in reversed(BREAK_COLUMNS)}])
        with pytest.raises(ValueError, match="not motif-mode columns"):
            w.write([{"chrom": "chr1", "pvalue": "0.1"}])
    header, short, full = path.read_text().splitlines()
    assert header.split("\t") == BREAK_COLUMNS
    assert short.split("\t") == ["chr1", "5", "", "", "", "mismatch"] + [""] * (len(BREAK_COLUMNS) - 6)
    assert full.split("\t") == [c.upper() for c in BREAK_COLUMNS]


@settings(max_examples=60, deadline=None)
@given(runs=st.lists(st.integers(1, 40), min_size=1, max_size=60), seed=st.integers(0, 2**16))
def test_bedgraph_lines_are_one_format_per_line(runs, seed):
    """bedGraph lines, whether formatted run by run (chromosomes) or the whole batch at once
    (many short runs: scaffolds), are exactly ``name\\ta\\tb\\t%.6g`` per window."""
    rng = np.random.default_rng(seed)
    names = [f"s{i}%d" if i % 3 == 0 else f"scaf_{i}" for i in range(len(runs))]
    rows = np.repeat(np.arange(len(runs)), runs)
    a = rng.integers(0, 10**9, len(rows))
    vals = (rng.random(len(rows)) * 10.0 ** rng.integers(-9, 9, len(rows))).astype(np.float32)
    want = "".join("%s\t%d\t%d\t%.6g\n" % (names[r], x, x + 50, v)
                   for r, x, v in zip(rows.tolist(), a.tolist(), vals.tolist()))
    assert _lines(names, rows, a, a + 50, vals) == want
