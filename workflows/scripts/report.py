"""One self-contained HTML report for an experiment (images inlined; no network, no scripts).

    python report.py --name ctcf --data peaks.json --summary summary.json --metrics metrics.json \
        --roc roc.png --pr pr.png --table motifs.tsv --logos logos/ --matches matches.tsv \
        --benchmarks train=bench/train.tsv scan=bench/scan_1.tsv ... -o report.html

Sections: headline numbers; held-out metrics (from the model file and `motifscan evaluate`) with
ROC/PR curves; recovery of known (planted) sites by the genome-wide scan; the motifs, most
influential first, with logos and their best database matches (each motif stands for a group of
filters whose motifs match one another: the export TSV's ``members``); per-base contribution
logos of the top held-out peaks and their seqlets (`motifscan attribute`, with --contrib/--seqlets);
variant effects (`motifscan variants`, with --effects/--breaks); the known motifs enriched in the
training peaks (`motifscan enrich`, with --enrich) next to the motifs the model learned, and whether
the top enriched one matches the top learned one (Tomtom E <= 0.05 in `motifscan compare`'s
matches); run time of each stage
(Snakemake benchmark files).

A multi-task model (several tasks in the model's config) also gets: held-out metrics per task and
their mean, recovery of known sites by each task's peaks, each task's top motifs (by the export
TSV's ``influence_<task>`` columns) and which motifs the tasks share (see :func:`sharing`).
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import html
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402

from motifscan.motifs.export import NAME_EVALUE, match_name  # noqa: E402

MAX_MOTIFS = 12
MATCHES_PER_MOTIF = 3
TOP_PER_TASK = 5
# A motif matters to a task when its influence on that task is at least this fraction of the
# largest influence of any motif on that task; shared when it matters to two tasks or more.
SHARED_FRACTION = 0.25
# Logos are drawn at 150 dpi (motifscan.motifs.logos); shown at this fraction of their pixel size
# (90 px per inch, about 200 px high) their axes and letters stay readable. Each gets that fixed
# width, and the motif table scrolls sideways instead of squeezing them.
LOGO_SCALE = 0.6
LOGO_FALLBACK_PX = 400  # when the image's size cannot be read
# In the motif table a logo is sized to its motif: this many pixels per column plus room for the
# axis, so every logo's letters have one size and a wide one does not push the numbers off screen.
LOGO_PX_PER_COLUMN = 18
LOGO_AXIS_PX = 60
# A motif carrying less information than this (total over its columns; one fully specified base
# is 2 bits) is a low-information motif: flagged, and ranked after the informative ones.
LOW_IC_BITS = 4.0

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.sub{color:#666;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.7em 1.1em;min-width:150px;background:#fafafa}
.card .v{font-size:1.7em;font-weight:600} .card .k{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:middle}
th{background:#f0f0f0} td.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;max-width:100%} img.contrib{max-width:100%} .curves img{width:420px;margin-right:1em;border:1px solid #eee}
code{background:#f4f4f4;padding:0 .25em;border-radius:3px}
.small{font-size:.85em;color:#555}
"""


def esc(x) -> str:
    return html.escape(str(x))


def fmt(x, digits: int = 3) -> str:
    if x is None or x == "NA":
        return "NA"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e-3 and x != 0 else f"{x:.{digits}f}"
    return str(x)


def png_width(data: bytes) -> int | None:
    """Pixel width of a PNG (from its IHDR chunk), or None for anything else."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big")
    return None


def img(path: Path, cls: str = "", alt: str = "", scale: float | None = None, width: int | None = None) -> str:
    """The PNG inlined; with ``scale``, shown at a fixed width (its pixel width x ``scale``), or at
    ``width`` pixels."""
    if not path or not Path(path).exists():
        return '<span class="small">(missing)</span>'
    raw = Path(path).read_bytes()
    style = ""
    if scale is not None or width is not None:
        if width is None:
            width = round((png_width(raw) or LOGO_FALLBACK_PX / scale) * scale)
        style = f' style="width:{width}px;min-width:{width}px;height:auto"'
    data = base64.b64encode(raw).decode()
    return f'<img class="{cls}" alt="{esc(alt)}"{style} src="data:image/png;base64,{data}">'


def table(head: list[str] | None, rows: list[list], numeric: set[int] = frozenset()) -> str:
    """An HTML table; ``head=None`` for a two-column key/value table without a header row."""
    out = ["<table>" + ("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>" if head else "")]
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            raw = isinstance(c, tuple)  # (html,) cells are inserted as they are
            body = c[0] if raw else esc(c)
            cells.append(f'<td class="n">{body}</td>' if i in numeric else f"<td>{body}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out) + "</table>"


def read_tsv(path) -> list[dict]:
    if not path or not Path(path).exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def card(value, label) -> str:
    return f'<div class="card"><div class="v">{esc(value)}</div><div class="k">{esc(label)}</div></div>'


def run_times(specs: list[str]) -> tuple[list[list], float]:
    """Per stage: jobs, summed wall seconds, summed CPU seconds, max RSS (MB)."""
    agg: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "s": 0.0, "cpu": 0.0, "rss": 0.0})
    order: list[str] = []
    for spec in specs:
        stage, _, path = spec.partition("=")
        if stage not in order:
            order.append(stage)
        for row in read_tsv(path):
            a = agg[stage]
            a["jobs"] += 1
            a["s"] += float(row.get("s") or 0)
            a["cpu"] += float(row.get("cpu_time") or 0) if row.get("cpu_time") not in ("-", None) else 0
            rss = row.get("max_rss")
            a["rss"] = max(a["rss"], float(rss) if rss not in (None, "", "-", "NA") else 0.0)
    rows = [[s, agg[s]["jobs"], f"{agg[s]['s']:.1f}", f"{agg[s]['cpu']:.1f}", f"{agg[s]['rss']:.0f}"]
            for s in order]
    return rows, sum(agg[s]["s"] for s in order)


def build(args) -> str:
    data = json.loads(Path(args.data).read_text())
    summary = json.loads(Path(args.summary).read_text())
    evaluate = json.loads(Path(args.metrics).read_text())
    held = summary.get("heldout", {})
    prov = summary.get("provenance", {})
    cfg = summary.get("config", {})
    scan = summary.get("scan")
    motifs = read_tsv(args.table)
    matches = read_tsv(args.matches)
    test = held.get("test", {})
    tasks = [str(t) for t in cfg.get("tasks") or []]
    tasks = tasks if len(tasks) > 1 else []  # a one-task model's report is as it always was
    if tasks:
        source = "; ".join(f"{esc(t)}: {esc(d.get('n'))} from <code>{esc(d.get('path'))}</code>"
                           for t, d in data.get("tasks", {}).items())
        source = f"{esc(data.get('n'))} peaks of {len(tasks)} tasks ({source})"
    else:
        source = f"{esc(data.get('n'))} peaks from <code>{esc(data.get('path'))}</code>"

    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>motifscan report: {esc(args.name)}</title><style>{CSS}</style></head><body>",
             f"<h1>motifscan report: {esc(args.name)}</h1>",
             f"<p class='sub'>{source}; "
             f"model {esc(cfg.get('n_filters'))} filters x {esc(cfg.get('filter_width'))} bp, "
             f"{esc(cfg.get('seq_length'))} bp inputs</p>"]

    mean = f", mean of {len(tasks)} tasks" if tasks else ""
    cards = [card(fmt(test.get("auroc")), f"held-out AUROC (test chromosomes{mean})"),
             card(fmt(test.get("auprc")), f"held-out AUPRC{f' (mean of {len(tasks)} tasks)' if tasks else ''}")]
    if scan and "recall" in scan:
        cards += [card(f"{scan['truth_found']}/{scan['n_truth']}", "known sites recovered"),
                  card(fmt(scan["precision"]), "precision of called peaks")]
    for t, rec in (scan or {}).get("tasks", {}).items():
        if "recall" in rec:
            cards.append(card(f"{rec['truth_found']}/{rec['n_truth']}", f"known sites recovered by the {t} peaks"))
    top = next((m for m in motifs if m.get("best_match_id") not in (None, "", "NA")), None)
    if top:
        cards.append(card(f"{top['best_match_alt']} ({top['best_match_id']})",
                          f"best match of the top motif ({top['motif_id']})"))
    parts.append("<div class='cards'>" + "".join(cards) + "</div>")

    # ---------------------------------------------------------------- held-out metrics
    parts.append("<h2>Held-out performance</h2>")
    parts.append(f"<p>Split by chromosome: validation {esc(', '.join(held.get('valid_chroms', [])))}; "
                 f"test {esc(', '.join(held.get('test_chroms', [])))} (never seen in training). "
                 f"Negatives: {esc(negatives(prov.get('negatives', '?')))}. Best epoch {esc(held.get('best_epoch'))} "
                 f"of {esc(held.get('epochs_run'))}; {esc(held.get('train_seconds'))} s on "
                 f"{esc(held.get('device'))}.</p>")
    rows = [[part, held[part].get("n"), held[part].get("n_pos"), fmt(held[part].get("auroc")),
             fmt(held[part].get("auprc"))] for part in ("train", "valid", "test") if part in held]
    rows.append([("<i>evaluate: test-chromosome peaks vs their shuffles</i>",), evaluate.get("n"),
                 evaluate.get("n_pos"), fmt(evaluate.get("auroc")), fmt(evaluate.get("auprc"))])
    parts.append(table(["set", "sequences", "positives", "AUROC", "AUPRC"], rows, {1, 2, 3, 4}))
    if tasks:
        parts.append(task_metrics_section(held, evaluate, tasks))
    parts.append("<div class='curves'>" + img(args.roc, alt="ROC curve") + img(args.pr, alt="PR curve")
                 + "</div><p class='small'>Curves: <code>motifscan evaluate</code> on the "
                 f"{esc(data.get('n_heldout'))} test-chromosome peaks.</p>")

    # ---------------------------------------------------------------- genome scan
    if scan and "tasks" in scan:
        parts.append(task_scan_section(scan["tasks"], args.track))
    elif scan:
        parts.append("<h2>Genome-wide scan</h2>")
        rows = [["called peaks", scan["n_peaks"]], ["bases in peaks", scan["peak_bp"]]]
        if "recall" in scan:
            rows += [["known sites", f"{scan['n_truth']} ({Path(scan['truth']).name})"],
                     ["recovered (overlapped by a peak)", f"{scan['truth_found']} = {scan['recall']:.1%}"],
                     ["peaks on a known site (precision)", f"{scan['precision']:.1%}"],
                     ["F1", fmt(scan["f1"])]]
            if "chance_recall" in scan:
                rows.append(["recall expected by chance", f"{scan['chance_recall']:.1%}"])
        parts.append(table(None, rows))
        if args.track:
            parts.append(f"<p class='small'>Track: <code>{esc(args.track[0])}</code></p>")

    if args.null_plot:
        parts.append(significance_section(scan, args.fdr, args.null_plot))

    # ---------------------------------------------------------------- motifs
    parts.append("<h2>Motifs</h2>")
    by_query: dict[str, list[dict]] = defaultdict(list)
    for m in matches:
        by_query[m.get("Query_ID", "")].append(m)
    logos = Path(args.logos) if args.logos else None
    rows = []
    low = [m for m in motifs if low_information(m)]
    for m in ([m for m in motifs if not low_information(m)] + low)[:MAX_MOTIFS]:
        mid = m["motif_id"]
        others = ", ".join(f"{x.get('Target_alt') or x.get('Target_ID')} ({x.get('Target_ID')}, "
                           f"E={x.get('E-value')})" for x in by_query.get(mid, [])[:MATCHES_PER_MOTIF])
        name = motif_name(m) + (" (low information)" if low_information(m) else "")
        rows.append([m["rank"], name, best_match(m), fmt(_num(m["best_match_evalue"])), others or "none",
                     m["total_ic"], fmt(_num(m["influence_loss"])), (members_cell(m),), m["nsites"], m["width"],
                     (logo_cell(m, logos, sized=True),)])
    n_filters = sum(int(m.get("n_members") or 1) for m in motifs)
    parts.append(f"<p>{n_filters} filters exported as {len(motifs)} motifs, most influential first "
                 f"(showing {min(len(motifs), MAX_MOTIFS)}). Filters whose motifs match one another "
                 "form one group, shown once as its best member's motif. Influence: increase of the "
                 "loss when the outputs of all the group's filters are replaced by their mean "
                 "(peaks and negatives weighed equally)"
                 + (f"; for a multi-task model the mean over its {len(tasks)} tasks (per task below)" if tasks else "")
                 + f". Matches: JASPAR, Tomtom-style E-values; a motif is named after its best match when "
                 f"E &le; {NAME_EVALUE:g}. Motifs with less than {LOW_IC_BITS:g} bits of information in all "
                 f"(two fully specified bases) are low-information and listed after the others"
                 f"{f' ({len(low)} of them)' if low else ''}; the rank is by influence.</p>")
    parts.append("<div class='scroll'>" + table(
        ["rank", "motif", "best match", "E-value", f"top {MATCHES_PER_MOTIF} matches (compare)", "IC (bits)",
         "influence", "filters", "sites", "width", "logo"], rows, {0, 3, 5, 6, 7, 8, 9}) + "</div>")
    if tasks:
        parts.append(task_motifs_section(motifs, tasks, logos))
        parts.append(shared_section(motifs, tasks))

    # ---------------------------------------------------------------- known motifs
    if getattr(args, "enrich", None):
        parts.append(enrich_section(Path(args.enrich), motifs, matches, tasks, logos))

    # ---------------------------------------------------------------- contributions
    if args.contrib:
        parts.append(contributions_section(Path(args.contrib), args.seqlets))

    # ---------------------------------------------------------------- variants
    if args.effects:
        parts.append(variants_section(args.effects, args.breaks))

    # ---------------------------------------------------------------- run times
    times, total = run_times(args.benchmarks)
    parts.append("<h2>Run time per stage</h2>")
    parts.append(table(["stage", "jobs", "wall s (sum)", "CPU s", "max RSS MB"], times, {1, 2, 3, 4}))
    parts.append(f"<p class='small'>Sum over jobs {total:.1f} s (jobs run in parallel, so the "
                 "elapsed time is shorter); from Snakemake benchmark files.</p>")

    parts.append("<h2>Provenance</h2>")
    parts.append(table(None, [["command", (f"<code>{esc(prov.get('command', '?'))}</code>",)],
                                  ["motifscan", prov.get("motifscan_version", "?")],
                                  ["torch", prov.get("torch_version", "?")],
                                  ["model created", prov.get("created", "?")],
                                  ["report written", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")]]))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def negatives(value) -> str:
    """The model's negatives: one mode, or one per task (a multi-task model's provenance)."""
    return "; ".join(f"{t}: {v}" for t, v in value.items()) if isinstance(value, dict) else str(value)


def logo_cell(row: dict, logos: Path | None, sized: bool = False) -> str:
    """The motif's logo; ``sized``: as wide as the motif (:data:`LOGO_PX_PER_COLUMN` per column)."""
    mid = row["motif_id"]
    columns = _float(row.get("width"))
    width = round(LOGO_PX_PER_COLUMN * columns + LOGO_AXIS_PX) if sized and columns else None
    return img(logos / f"{mid}.png" if logos else None, "logo", mid, None if width else LOGO_SCALE, width)


def best_match(row: dict) -> str:
    return f"{row['best_match_alt']} ({row['best_match_id']})" if row["best_match_id"] != "NA" else "none"


def motif_name(row: dict) -> str:
    """``filter25 (CTCF MA0139.2)`` when the best match has E <= NAME_EVALUE, else ``filter25``."""
    e = _float(row.get("best_match_evalue"))
    if row.get("best_match_id") in (None, "", "NA") or e is None or e > NAME_EVALUE:
        return row["motif_id"]
    return f"{row['motif_id']} ({match_name(row['best_match_id'], row.get('best_match_alt') or '')})"


def low_information(row: dict) -> bool:
    """Whether a motif carries less than :data:`LOW_IC_BITS` bits in all."""
    ic = _float(row.get("total_ic"))
    return ic is not None and ic < LOW_IC_BITS


# ----------------------------------------------------------------------------- multi-task models
def task_metrics_section(held: dict, evaluate: dict, tasks: list[str]) -> str:
    """AUROC/AUPRC per task: the model file's held-out test set and `motifscan evaluate`, and the mean."""
    test, ev = held.get("test", {}).get("tasks", {}), evaluate.get("tasks", {})
    rows = []
    for t in tasks:
        a, b = test.get(t, {}), ev.get(t, {})
        rows.append([t, a.get("n_pos"), fmt(a.get("auroc")), fmt(a.get("auprc")), b.get("n_pos"),
                     fmt(b.get("auroc")), fmt(b.get("auprc"))])
    rows.append([("<b>mean</b>",), "", fmt(held.get("test", {}).get("auroc")), fmt(held.get("test", {}).get("auprc")),
                 "", fmt(evaluate.get("auroc")), fmt(evaluate.get("auprc"))])
    return ("<h3>Per task</h3><p>Each task's positives against its own negatives (labels of the other "
            "tasks' sequences are unknown and left out, unless the tasks' regions were pooled).</p>"
            + table(["task", "test positives", "test AUROC", "test AUPRC", "evaluate positives", "evaluate AUROC",
                     "evaluate AUPRC"], rows, {1, 2, 3, 4, 5, 6}))


def significance_section(scan: dict | None, fdr: float | None, plot: Path) -> str:
    """The null behind the peaks' p- and q-values: its QQ plot, and the peaks called at the FDR."""
    out = ["<h2>Significance</h2>"]
    if fdr is not None and scan:
        counts = ([f"{t}: {s['n_peaks']}" for t, s in scan["tasks"].items()] if "tasks" in scan
                  else [str(scan["n_peaks"])])
        out.append(f"<p>Peaks at a false-discovery rate of {fdr:g}: <b>{', '.join(counts)}</b> "
                   "(q-values: Benjamini-Hochberg with every window scanned as a test and peaks as the "
                   "discoveries; narrowPeak columns 8 and 9 hold -log10 p and -log10 q).</p>")
    out.append("<p>p-values are against a null of the genome's own windows, each shuffled with its dinucleotides "
               "kept, scored by the model and kept per GC stratum (<code>motifscan calibrate</code>). The plot shows "
               "held-out shuffles: points on the diagonal are calibrated. The null controls false peaks that come "
               "from sequence composition, not from biology the shuffle destroys (repeats, cofactors).</p>")
    out.append(img(plot, alt="QQ plot of held-out null windows", scale=0.8))
    return "\n".join(out)


def task_scan_section(per_task: dict, tracks: list[str] | None) -> str:
    """One row per task: its called peaks and, with a truth BED, their recovery of the known sites."""
    rows = []
    for t, s in per_task.items():
        row = [t, s["n_peaks"], s["peak_bp"]]
        if "recall" in s:
            row += [f"{s['truth_found']}/{s['n_truth']} = {s['recall']:.1%}", f"{s['precision']:.1%}", fmt(s["f1"]),
                    f"{s['chance_recall']:.1%}" if "chance_recall" in s else "NA"]
        rows.append(row)
    head = ["task", "called peaks", "bases in peaks"]
    truth = next((s["truth"] for s in per_task.values() if "truth" in s), None)
    if truth:
        head += ["known sites recovered", "precision", "F1", "recall by chance"]
    out = ["<h2>Genome-wide scan</h2>", "<p>One pass of the genome gives every task's track and peaks"
           + (f"; known sites: {esc(Path(truth).name)} (the same sites for every task: a task whose factor "
              "did not make them should recover few)" if truth else "") + ".</p>",
           table(head, rows, set(range(1, len(head))))]
    if tracks:
        out.append("<p class='small'>Tracks: " + ", ".join(f"<code>{esc(t)}</code>" for t in tracks) + "</p>")
    return "\n".join(out)


def task_influence(motifs: list[dict], tasks: list[str]) -> dict[str, list[float]]:
    """Each task's influence column (``influence_<task>`` of the export TSV; NA reads as 0)."""
    out = {}
    for t in tasks:
        values = [_num(m.get(f"influence_{t}")) for m in motifs]
        out[t] = [v if isinstance(v, float) and v == v else 0.0 for v in values]
    return out


def sharing(motifs: list[dict], tasks: list[str], fraction: float = SHARED_FRACTION) -> list[list[str]]:
    """For each motif, the tasks it matters to.

    A motif matters to task ``t`` when its influence on ``t`` is positive and at least ``fraction``
    times the largest influence of any motif on ``t``: a scale per task, as tasks' losses differ.
    A motif that matters to two tasks or more is *shared*; to one, *private* to it.
    """
    infl = task_influence(motifs, tasks)
    top = {t: max(v, default=0.0) for t, v in infl.items()}
    return [[t for t in tasks if top[t] > 0 and infl[t][i] > 0 and infl[t][i] >= fraction * top[t]]
            for i in range(len(motifs))]


def task_motifs_section(motifs: list[dict], tasks: list[str], logos: Path | None) -> str:
    """Each task's most influential motifs (by its own influence column)."""
    infl = task_influence(motifs, tasks)
    out = ["<h2>Top motifs per task</h2>",
           f"<p>The {TOP_PER_TASK} motifs each task's output relies on most (influence on that task alone: "
           "the increase of its loss when the motif's filters are knocked out).</p>"]
    for t in tasks:
        order = sorted(range(len(motifs)), key=lambda i: -infl[t][i])[:TOP_PER_TASK]
        rows = [[k + 1, motifs[i]["motif_id"], (logo_cell(motifs[i], logos),), (members_cell(motifs[i]),),
                 fmt(infl[t][i]), best_match(motifs[i]), fmt(_num(motifs[i]["best_match_evalue"]))]
                for k, i in enumerate(order)]
        out.append(f"<h3>{esc(t)}</h3><div class='scroll'>"
                   + table(["rank", "motif", "logo", "filters", f"influence on {t}", "best match", "E-value"],
                           rows, {0, 3, 4}) + "</div>")
    return "\n".join(out)


def shared_section(motifs: list[dict], tasks: list[str]) -> str:
    """Which motifs (groups of filters) the tasks share and which are private to one task."""
    infl = task_influence(motifs, tasks)
    used = sharing(motifs, tasks)
    rows, counts = [], {"shared": 0, **{t: 0 for t in tasks}}
    n_filters = {"shared": 0, **{t: 0 for t in tasks}}
    for i, (m, ts) in enumerate(zip(motifs, used)):
        if not ts:
            continue
        kind = "shared" if len(ts) > 1 else ts[0]
        counts[kind] += 1
        n_filters[kind] += int(m.get("n_members") or 1)
        cells = [(f"<b>{fmt(infl[t][i])}</b>",) if t in ts else fmt(infl[t][i]) for t in tasks]
        rows.append([m["motif_id"], (members_cell(m),), best_match(m), *cells,
                     f"shared ({', '.join(ts)})" if len(ts) > 1 else f"private to {ts[0]}"])
    rule = (f"A motif matters to a task when its influence on that task is at least {SHARED_FRACTION:.0%} of the "
            "largest influence of any motif on that task (bold); it is <b>shared</b> when it matters to two "
            "tasks or more, else <b>private</b> to its task. Motifs that matter to no task are left out.")
    summary = (f"{counts['shared']} motif(s) ({n_filters['shared']} filters) shared; "
               + "; ".join(f"{counts[t]} ({n_filters[t]} filters) private to {esc(t)}" for t in tasks) + ".")
    return ("<h2>Shared and private filters</h2>" + f"<p>{summary}</p><p class='small'>{rule}</p>"
            + "<div class='scroll'>" + table(["motif", "filters", "best match", *[f"influence on {t}" for t in tasks],
                                              "tasks"], rows, set(range(3, 3 + len(tasks)))) + "</div>")


def members_cell(row: dict) -> str:
    """How many filters a motif stands for, and which (the export TSV's ``members``)."""
    members = [x for x in (row.get("members") or row["motif_id"]).split(",") if x]
    if len(members) == 1:
        return "1"
    return f'{len(members)}<br><span class="small">{esc(", ".join(members))}</span>'


def contributions_section(folder: Path, seqlets: str | None) -> str:
    """Contribution logos of the top held-out peaks (contribution_logos.py) and seqlet counts."""
    out = ["<h2>Per-base contributions (held-out peaks)</h2>",
           "<p>Exact in-silico saturation mutagenesis (<code>motifscan attribute</code>): the height of "
           "each letter is the change of the logit when that base is mutated, averaged over the "
           "alternatives and centred (positive: the base supports binding). The highest-scoring held-out "
           "peaks, around their strongest stretch:</p>"]
    for row in read_tsv(folder / "index.tsv"):
        out.append(f"<p class='small'>{esc(row['rank'])}. {esc(row['name'])} (score {esc(row['score'])}, "
                   f"bases {esc(row['start'])}-{esc(row['end'])})</p>"
                   + img(folder / f"{row['rank']}.png", "contrib", f"contributions of {row['name']}"))
    if seqlets and Path(seqlets).exists():
        names = [ln.split("\t")[3] for ln in Path(seqlets).read_text().splitlines() if ln.strip()]
        counts = defaultdict(int)
        for n in names:
            counts[n] += 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:8]
        out.append(f"<p>{len(names)} seqlets (high-contribution stretches); best database matches: "
                   + (", ".join(f"{esc(n)} ({c})" for n, c in top) or "none") + "</p>")
    return "\n".join(out)


def _auroc(pos: list[float], neg: list[float]) -> float | None:
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def variants_section(effects: str, breaks: str | None) -> str:
    """Model effects (largest first) and the motif database's created/broken sites."""
    rows = [r for r in read_tsv(effects) if r.get("logit_delta") not in (None, "")]
    out = ["<h2>Variant effects</h2>"]
    checks = defaultdict(int)
    for r in read_tsv(effects):
        checks[r["ref_check"]] += 1
    out.append(f"<p>{sum(checks.values())} alleles scored by <code>motifscan variants</code> (window centred on "
               "each variant, reference vs alternative allele): "
               + ", ".join(f"{esc(k)} {v}" for k, v in sorted(checks.items())) + ".</p>")
    site = [abs(float(r["logit_delta"])) for r in rows if r["id"].startswith("site_")]
    bg = [abs(float(r["logit_delta"])) for r in rows if r["id"].startswith("bg_")]
    auc = _auroc(site, bg)
    if auc is not None:
        out.append(f"<p>Simulated SNVs: |logit change| inside planted sites (n={len(site)}) vs &ge; 100 bp away "
                   f"(n={len(bg)}): AUROC {auc:.3f}; median {sorted(site)[len(site) // 2]:.3g} vs "
                   f"{sorted(bg)[len(bg) // 2]:.3g}.</p>")
    rows.sort(key=lambda r: -abs(float(r["logit_delta"])))
    out.append(table(["variant", "ref", "alt", "ref score", "alt score", "delta", "logit delta", "top filter"],
                     [[f"{r['chrom']}:{r['pos']} {r['id']}", r["ref"], r["alt"], r["ref_score"], r["alt_score"],
                       r["delta"], r["logit_delta"], r["top_filter"]] for r in rows[:10]], {3, 4, 5, 6}))
    if breaks and Path(breaks).exists():
        b = [r for r in read_tsv(breaks) if r.get("motif_id")]
        effect = defaultdict(int)
        for r in b:
            effect[r["effect"]] += 1
        out.append(f"<p>Motif database: {len(b)} (allele, motif) pairs with p &le; threshold in either allele: "
                   + ", ".join(f"{esc(k)} {v}" for k, v in sorted(effect.items())) + ".</p>")
        b.sort(key=lambda r: min(float(r["ref_pvalue"]), float(r["alt_pvalue"])))
        out.append(table(["variant", "motif", "site", "ref p", "alt p", "effect", "ref site", "alt site"],
                         [[f"{r['chrom']}:{r['pos']} {r['ref']}>{r['alt']}", f"{r['motif_alt_id']} ({r['motif_id']})",
                           f"{r['site_start']} {r['strand']}", r["ref_pvalue"], r["alt_pvalue"], r["effect"],
                           r["matched_ref"], r["matched_alt"]] for r in b[:10]], {3, 4}))
    return "\n".join(out)


# ----------------------------------------------------------------------------- known motifs
ENRICH_TOP = 10
MATCH_EVALUE = 0.05


def _enrich_tables(folder: Path, tasks: list[str]) -> list[tuple[str | None, Path]]:
    """(task or None, table) of each peak set `motifscan enrich` wrote into ``folder``."""
    if (folder / "enrichment.tsv").exists():
        return [(None, folder / "enrichment.tsv")]
    return [(t, folder / f"enrichment.{t}.tsv") for t in tasks if (folder / f"enrichment.{t}.tsv").exists()]


def top_learned(motifs: list[dict], task: str | None) -> dict | None:
    """The most influential exported motif (on ``task``'s own influence column when there is one)."""
    if not motifs:
        return None
    col = f"influence_{task}"
    if task is not None and col in motifs[0]:
        return max(motifs, key=lambda m: _num(m[col]) if isinstance(_num(m[col]), float) else float("-inf"))
    return motifs[0]


def match_line(enriched: dict, learned: dict | None, matches: list[dict]) -> str:
    """Whether the top enriched database motif matches the top learned motif (Tomtom E <= 0.05)."""
    name = f"{esc(enriched['alt_id'] or enriched['id'])} ({esc(enriched['id'])}, q = {esc(enriched['qvalue'])})"
    if learned is None:
        return f"<p>Top enriched known motif: {name}; no learned motif to compare it with.</p>"
    hit = [m for m in matches if m.get("Query_ID") == learned["motif_id"] and m.get("Target_ID") == enriched["id"]]
    e = min((_num(m.get("E-value")) for m in hit), default=None)
    if isinstance(e, float) and e <= MATCH_EVALUE:
        verdict = f"<b>matches</b> the top learned motif {esc(learned['motif_id'])} (Tomtom E = {fmt(e)} &le; {MATCH_EVALUE})"
    elif isinstance(e, float):
        verdict = (f"does <b>not</b> match the top learned motif {esc(learned['motif_id'])} "
                   f"(Tomtom E = {fmt(e)} &gt; {MATCH_EVALUE})")
    else:
        verdict = (f"does <b>not</b> match the top learned motif {esc(learned['motif_id'])} "
                   "(not among its compare matches)")
    return f"<p>Top enriched known motif {name} {verdict}.</p>"


def enrich_section(folder: Path, motifs: list[dict], matches: list[dict], tasks: list[str],
                   logos: Path | None) -> str:
    """Known motifs enriched in the training peaks, top 10 per set, beside the learned motifs."""
    out = ["<h2>Known motifs enriched in the peaks</h2>",
           "<p><code>motifscan enrich</code>: peaks whose best site reaches the FIMO p-value against their "
           "controls, Fisher's exact test (one-sided), Benjamini-Hochberg q over every database motif. Bars: "
           "-log10 q of the top motifs with their logos; right: the most influential motifs the model "
           "learned (export).</p>"]
    for task, path in _enrich_tables(folder, tasks):
        rows = [r for r in read_tsv(path) if not str(r.get("rank", "")).startswith("#")]
        if task is not None:
            out.append(f"<h3>{esc(task)}</h3>")
        if not rows:
            continue
        learned = top_learned(motifs, task)
        out.append(match_line(rows[0], learned, matches))
        plot = path.with_suffix(".png")
        ranked = ([learned] if learned else []) + [m for m in motifs if m is not learned]
        learned_cells = "".join(f"<div>{esc(m['motif_id'])}<br>{logo_cell(m, logos)}</div>" for m in ranked[:3])
        out.append("<div style='display:flex;gap:1em;align-items:flex-start'>"
                   + (img(plot, alt="enrichment") if plot.exists() else "")
                   + f"<div><b>learned (export)</b>{learned_cells}</div></div>")
        out.append(table(["rank", "motif", "peaks with a site", "controls with a site", "enrichment", "q-value"],
                         [[r["rank"], f"{r['alt_id']} ({r['id']})", f"{r['tp']} ({r['tp_percent']}%)",
                           f"{r['fp']} ({r['fp_percent']}%)", r["enr_ratio"], r["qvalue"]] for r in rows[:ENRICH_TOP]],
                         {0, 4, 5}))
    return "\n".join(out)


def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return x


def _float(x) -> float | None:
    """``x`` as a number, or None (``NA``, empty, missing)."""
    value = _num(x)
    return value if isinstance(value, float) else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--data", required=True, help="peaks.json of prepare_peaks.py")
    ap.add_argument("--summary", required=True, help="summary.json of summarise.py")
    ap.add_argument("--metrics", required=True, help="metrics.json of motifscan evaluate")
    ap.add_argument("--roc", type=Path)
    ap.add_argument("--pr", type=Path)
    ap.add_argument("--table", help="motifs.tsv of motifscan export")
    ap.add_argument("--logos", help="logo folder of motifscan export")
    ap.add_argument("--matches", help="matches.tsv of motifscan compare")
    ap.add_argument("--enrich", help="folder of motifscan enrich (enrichment[.TASK].tsv and .png)")
    ap.add_argument("--track", nargs="+", help="genome track(s) (named in the report; one per task)")
    ap.add_argument("--contrib", help="folder of contribution_logos.py (logos of top held-out peaks)")
    ap.add_argument("--seqlets", help="seqlets BED of motifscan attribute")
    ap.add_argument("--effects", help="effects TSV of motifscan variants (model)")
    ap.add_argument("--breaks", help="TSV of motifscan variants with the motif database")
    ap.add_argument("--null-plot", type=Path, help="QQ plot of motifscan calibrate (null.png)")
    ap.add_argument("--fdr", type=float, help="the FDR the peaks were called at")
    ap.add_argument("--benchmarks", nargs="*", default=[], help="STAGE=benchmark.tsv ...")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    with one_line_errors(__file__):
        from motifscan.atomic import atomic_open, check_output_path

        check_output_path(args.output)
        text = build(args)
        with atomic_open(args.output, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
