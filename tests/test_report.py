"""The workflow's HTML report (workflows/scripts/report.py), rendered from small fixture inputs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from motifscan.motifs import Motif
from motifscan.motifs.logos import plot_logo
from script_helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "workflows" / "scripts" / "report.py"


class _Page(HTMLParser):
    """Header rows (the text of each <th> of a row that has any) and <img> attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.header_rows: list[list[str]] = []
        self.images: list[dict] = []
        self._row: list[str] | None = None
        self._th: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self._row = []
        elif tag == "th":
            self._th = []
        elif tag == "img":
            self.images.append({k: v for k, v in a.items() if k != "src"})

    def handle_endtag(self, tag):
        if tag == "th" and self._th is not None and self._row is not None:
            self._row.append("".join(self._th).strip())
            self._th = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.header_rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._th is not None:
            self._th.append(data)


def _inputs(d: Path) -> list[str]:
    rng = np.random.default_rng(0)
    logos = d / "logos"
    logos.mkdir()
    rows, matches = [], []
    for i, width in enumerate((8, 19)):
        mid = f"filter{i}"
        plot_logo(Motif(mid, rng.dirichlet(np.full(4, 0.3), size=width)), logos / f"{mid}.png")
        rows.append(f"{i + 1}\t{mid}\t100\t{width}\t9.5\t0.05\tMA0139.2\tCTCF\t1e-10")
        matches.append(f"{mid}\tMA0139.2\tCTCF\t1e-10")
    (d / "motifs.tsv").write_text("rank\tmotif_id\tnsites\twidth\ttotal_ic\tinfluence_loss\tbest_match_id\t"
                                  "best_match_alt\tbest_match_evalue\n" + "\n".join(rows) + "\n")
    (d / "matches.tsv").write_text("Query_ID\tTarget_ID\tTarget_alt\tE-value\n" + "\n".join(matches) + "\n")
    part = {"n": 100, "n_pos": 50, "auroc": 0.95, "auprc": 0.94}
    (d / "summary.json").write_text(json.dumps({
        "heldout": {"train": part, "valid": part, "test": part, "valid_chroms": ["chr8"], "test_chroms": ["chr1"],
                    "best_epoch": 3, "epochs_run": 5, "train_seconds": 1.0, "device": "cpu"},
        "provenance": {"command": "motifscan train peaks.fa -o model.h5", "negatives": "shuffle",
                       "motifscan_version": "0.1.0", "torch_version": "2", "created": "2026-01-01T00:00:00Z"},
        "config": {"n_filters": 2, "filter_width": 19, "seq_length": 200},
        "scan": {"n_peaks": 10, "peak_bp": 3000, "n_truth": 5, "truth": "truth.bed", "truth_found": 4,
                 "recall": 0.8, "precision": 0.4, "f1": 0.53, "chance_recall": 0.05}}))
    (d / "data.json").write_text(json.dumps({"n": 100, "path": "peaks.fa", "n_heldout": 20}))
    (d / "metrics.json").write_text(json.dumps(part))
    (d / "train.tsv").write_text("s\tcpu_time\tmax_rss\n1.5\t1.2\t300\n")
    return ["--name", "demo", "--data", str(d / "data.json"), "--summary", str(d / "summary.json"),
            "--metrics", str(d / "metrics.json"), "--table", str(d / "motifs.tsv"), "--logos", str(logos),
            "--matches", str(d / "matches.tsv"), "--track", "track.bw", "--benchmarks", f"train={d / 'train.tsv'}"]


def _render(tmp_path, args: list[str]) -> str:
    """Run report.py with ``args``; the HTML it wrote."""
    out = tmp_path / "report.html"
    res = subprocess.run([sys.executable, str(REPORT), *args, "-o", str(out)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    return out.read_text()


def test_report_has_no_empty_header_rows_and_readable_logos(tmp_path):
    text = _render(tmp_path, _inputs(tmp_path))
    page = _Page()
    page.feed(text)
    assert page.header_rows, "the report has tables with header rows"
    assert all(any(cell for cell in row) for row in page.header_rows), page.header_rows  # no empty grey row
    assert "Genome-wide scan" in text and "recall expected by chance" in text and "Provenance" in text

    logos = [im for im in page.images if "logo" in (im.get("class") or "").split()]
    assert len(logos) == 2
    widths = []
    for im in logos:
        style = dict(kv.split(":", 1) for kv in (im.get("style") or "").replace(" ", "").split(";") if kv)
        assert style.get("width", "").endswith("px") and style.get("min-width") == style["width"], im
        widths.append(int(style["width"][:-2]))
    assert min(widths) >= 200  # readable, not squeezed to a thumbnail
    assert widths[1] > widths[0]  # a wider motif keeps the same letter size: a wider image
    # the match columns come first, the logo last; the table scrolls sideways instead of shrinking the logos
    assert "<div class='scroll'><table><tr><th>rank</th><th>motif</th><th>best match</th><th>E-value</th>" in text
    assert "<th>width</th><th>logo</th></tr>" in text
    assert re.search(r"\.scroll\{[^}]*overflow-x:auto", text)


def test_report_shows_each_group_of_filters_once_with_its_members(tmp_path):
    """Export writes one motif per group of filters that learned the same motif; the report
    says how many filters each motif stands for, and which."""
    args = _inputs(tmp_path)
    table = tmp_path / "motifs.tsv"
    head, *rows = table.read_text().splitlines()
    members = ["filter0,filter5,filter7", "filter1"]
    table.write_text("\t".join([head, "n_members", "members"]) + "\n" + "".join(
        f"{row}\t{len(m.split(','))}\t{m}\n" for row, m in zip(rows, members)))
    text = _render(tmp_path, args)
    assert "4 filters exported as 2 motifs" in text
    assert "<th>influence</th><th>filters</th>" in text
    assert '3<br><span class="small">filter0, filter5, filter7</span>' in text


# ----------------------------------------------------------------------------- multi-task models
def test_sharing_is_relative_to_each_tasks_largest_influence():
    report = load_script(REPORT)
    rows = [{"influence_a": "1.0", "influence_b": "0.01"},   # a only
            {"influence_a": "0.5", "influence_b": "0.6"},    # both
            {"influence_a": "0.1", "influence_b": "0.3"},    # b: 0.3 >= 0.25 * 0.6; a: 0.1 < 0.25 * 1.0
            {"influence_a": "NA", "influence_b": "-0.2"},    # unknown and negative influence: none
            {"influence_a": "0.2", "influence_b": "0.1"}]    # below both thresholds
    assert report.sharing(rows, ["a", "b"], fraction=0.25) == [["a"], ["a", "b"], ["b"], [], []]
    # the threshold is inclusive and scales with the fraction
    assert report.sharing(rows, ["a", "b"], fraction=0.5)[1] == ["a", "b"]
    assert report.sharing(rows, ["a", "b"], fraction=0.9) == [["a"], ["b"], [], [], []]
    # a task no motif helps has no motif that matters to it
    assert report.sharing([{"influence_a": "0", "influence_b": "1"}], ["a", "b"]) == [["b"]]


def _multitask_inputs(d: Path) -> list[str]:
    """The one-task fixture turned into a two-task model's (tasks ctcf and maf)."""
    args = _inputs(d)
    rows = [  # motif, members, influence (mean, ctcf, maf), best match
        ("filter0", "filter0,filter3", 0.30, 0.55, 0.02, "MA0139.2", "CTCF"),
        ("filter1", "filter1", 0.20, 0.01, 0.40, "MA0496.4", "MAFK"),
        ("filter2", "filter2,filter4,filter5", 0.15, 0.20, 0.12, "MA0101.1", "REL"),
        ("filter6", "filter6", 0.01, 0.02, 0.005, "NA", "NA")]
    logos = d / "logos"
    for mid, *_ in rows[1:]:
        if not (logos / f"{mid}.png").exists():
            (logos / f"{mid}.png").write_bytes((logos / "filter0.png").read_bytes())
    (d / "motifs.tsv").write_text(
        "rank\tmotif_id\tn_members\tmembers\tnsites\twidth\ttotal_ic\tinfluence_loss\tinfluence_ctcf\t"
        "influence_maf\tbest_match_id\tbest_match_alt\tbest_match_evalue\n" + "".join(
            f"{i + 1}\t{m}\t{len(mem.split(','))}\t{mem}\t100\t12\t9.5\t{inf}\t{c}\t{f}\t{bid}\t{alt}\t1e-5\n"
            for i, (m, mem, inf, c, f, bid, alt) in enumerate(rows)))
    summary = json.loads((d / "summary.json").read_text())
    per = {"ctcf": {"n": 60, "n_pos": 30, "auroc": 0.97, "auprc": 0.96},
           "maf": {"n": 40, "n_pos": 20, "auroc": 0.91, "auprc": 0.89}}
    for part in ("train", "valid", "test"):
        summary["heldout"][part] = {"n": 100, "n_pos": 50, "auroc": 0.94, "auprc": 0.925, "tasks": per}
    summary["config"]["tasks"] = ["ctcf", "maf"]
    summary["provenance"]["negatives"] = {"ctcf": "shuffle", "maf": "shuffle"}
    rec = summary.pop("scan")
    summary["scan"] = {"tasks": {"ctcf": rec, "maf": {**rec, "truth_found": 1, "recall": 0.2}}}
    (d / "summary.json").write_text(json.dumps(summary))
    (d / "metrics.json").write_text(json.dumps({"n": 100, "n_pos": 50, "auroc": 0.93, "auprc": 0.92, "tasks": {
        "ctcf": {**per["ctcf"], "auroc": 0.96}, "maf": {**per["maf"], "auroc": 0.90}}}))
    (d / "data.json").write_text(json.dumps({"n": 1000, "n_heldout": 200, "tasks": {
        "ctcf": {"n": 500, "path": "ctcf.fa"}, "maf": {"n": 500, "path": "maf.fa"}}}))
    i = args.index("--track")
    args[i + 1: i + 2] = ["track.ctcf.bw", "track.maf.bw"]
    return args


def test_multi_task_report_has_per_task_metrics_motifs_and_shared_filters(tmp_path):
    text = _render(tmp_path, _multitask_inputs(tmp_path))
    page = _Page()
    page.feed(text)
    assert all(any(cell for cell in row) for row in page.header_rows)
    assert "1000 peaks of 2 tasks" in text and "mean of 2 tasks" in text
    # metrics per task and their mean (held-out test and evaluate)
    assert ["task", "test positives", "test AUROC", "test AUPRC", "evaluate positives", "evaluate AUROC",
            "evaluate AUPRC"] in page.header_rows
    assert re.search(r"<td>ctcf</td><td class=\"n\">30</td><td class=\"n\">0.970</td><td class=\"n\">0.960</td>"
                     r"<td class=\"n\">30</td><td class=\"n\">0.960</td>", text)
    assert re.search(r"<b>mean</b></td><td class=\"n\"></td><td class=\"n\">0.940</td>", text)
    # recovery per task, and both tracks named
    assert "known sites recovered by the maf peaks" in text and "track.maf.bw" in text
    # each task's top motif is the one its own influence column ranks first
    ctcf = text[text.index("<h3>ctcf</h3>"):text.index("<h3>maf</h3>")]
    maf = text[text.index("<h3>maf</h3>"):text.index("Shared and private filters")]
    assert ctcf.index("CTCF (MA0139.2)") < ctcf.index("REL (MA0101.1)") < ctcf.index("MAFK (MA0496.4)")
    assert maf.index("MAFK (MA0496.4)") < maf.index("REL (MA0101.1)") < maf.index("CTCF (MA0139.2)")
    # shared: REL (0.20 >= 0.25 * 0.55 and 0.12 >= 0.25 * 0.40); private: CTCF, MAFK; filter6: neither
    shared = text[text.index("Shared and private filters"):text.index("Run time per stage")]
    assert "1 motif(s) (3 filters) shared; 1 (2 filters) private to ctcf; 1 (1 filters) private to maf" in shared
    assert "shared (ctcf, maf)" in shared and "private to ctcf" in shared and "filter6" not in shared
    assert "at least 25% of the largest influence" in shared


def test_one_task_report_has_no_task_sections(tmp_path):
    text = _render(tmp_path, _inputs(tmp_path))
    for needle in ("Per task", "Top motifs per task", "Shared and private", "mean of"):
        assert needle not in text


def test_motif_table_names_matches_sizes_logos_and_ranks_low_information_last(tmp_path):
    """Issue 21 (14): match columns first; a motif named by its best match when E <= 0.05; logos as
    wide as their motif; motifs under 4 bits of information after the others, flagged."""
    args = _inputs(tmp_path)
    table = tmp_path / "motifs.tsv"
    head, *rows = table.read_text().splitlines()
    rows[0] = rows[0].replace("\t9.5\t", "\t0.8\t")  # filter0: the most influential, but one weak base
    rows[1] = rows[1].replace("1e-10", "0.2")  # filter1: its best match is not good enough to name it
    rows.append("3\tfilter2\t100\t12\t11.0\t0.01\tMA0139.2\tCTCF\t1e-10")
    table.write_text("\n".join([head, *rows]) + "\n")
    plot_logo(Motif("filter2", np.random.default_rng(1).dirichlet(np.full(4, 0.3), size=12)),
              tmp_path / "logos" / "filter2.png")
    text = _render(tmp_path, args)
    body = text[text.index("<h2>Motifs</h2>"):]
    order = re.findall(r"<tr><td class=\"n\">\d+</td><td>([^<]+)</td>", body)
    assert order == ["filter1", "filter2 (CTCF MA0139.2)", "filter0 (CTCF MA0139.2) (low information)"]
    assert "less than 4 bits" in body
    page = _Page()
    page.feed(body[: body.index("</table>")])
    widths = [int(re.search(r"width:(\d+)px", im["style"]).group(1)) for im in page.images]
    assert widths == [18 * 19 + 60, 18 * 12 + 60, 18 * 8 + 60]  # rows filter1 (19 wide), filter2, filter0


def test_report_shows_the_null_and_the_peaks_at_the_fdr(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 3))
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "null.png")
    plt.close(fig)
    text = _render(tmp_path, _inputs(tmp_path) + ["--null-plot", str(tmp_path / "null.png"), "--fdr", "0.05"])
    assert "<h2>Significance</h2>" in text
    assert "Peaks at a false-discovery rate of 0.05: <b>10</b>" in text
    assert "data:image/png;base64," in text.split("<h2>Significance</h2>")[1].split("<h2>")[0]
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "<h2>Significance</h2>" not in _render(plain, _inputs(plain))  # peaks by threshold: no null


def test_report_shows_enriched_known_motifs_and_whether_the_top_one_matches(tmp_path):
    from motifscan.interpret.enrich import EnrichOptions, enrich
    from motifscan.io.motif_formats import read_motifs, write_motifs
    from motifscan.motifs import jaspar_path

    args = _inputs(tmp_path)  # matches: filter0 ~ MA0139.2 (E = 1e-10)
    ctcf = ROOT / "examples" / "ctcf" / "ctcf_gm12878_top500.fa"
    some = [m for m in read_motifs(jaspar_path()) if m.id.split(".")[0] in ("MA0139", "MA0079", "MA0496")]
    write_motifs(some, tmp_path / "db.meme")
    folder = tmp_path / "enrich"
    folder.mkdir()
    enrich(ctcf, folder / "enrichment.tsv", EnrichOptions(motifs=tmp_path / "db.meme", top=10),
           plot=folder / "enrichment.png")
    text = _render(tmp_path, args + ["--enrich", str(folder)])
    assert "Known motifs enriched in the peaks" in text
    assert "CTCF (MA0139.2, q = " in text and "<b>matches</b> the top learned motif filter0" in text
    page = _Page()
    page.feed(text)
    assert ["rank", "motif", "peaks with a site", "controls with a site", "enrichment", "q-value"] in page.header_rows
    assert any(i.get("alt") == "enrichment" for i in page.images)
    # a top learned motif that matches something else: said so
    (tmp_path / "matches.tsv").write_text("Query_ID\tTarget_ID\tTarget_alt\tE-value\nfilter0\tMA0079.5\tSP1\t1e-3\n")
    assert "does <b>not</b> match the top learned motif filter0" in _render(tmp_path, args + ["--enrich", str(folder)])
