"""Compare benchmark: motifscan's Tomtom vs memelite's, on the bundled JASPAR 2024 collection.

Usage::

    python benchmarks/compare_bench.py --queries 40 --seed 0

For ``--queries`` random JASPAR motifs, each is compared with the other 878 (leave-one-out, so the
answer is not trivially itself) by

* motifscan ``compare_motifs`` with Euclidean columns (``distance="ed"``, ``min_overlap=1``),
  the same set-up as memelite's ``tomtom`` -- an oracle check of the p-value machinery;
* motifscan with its default, Pearson columns and ``min_overlap=5`` (Tomtom's defaults);
* memelite ``tomtom`` (numba; the first call compiles for minutes, reported separately).

It prints: agreement of the best match, Spearman correlation of the p-values over all targets,
log10 ratio of the p-values at memelite's best match, and time per query. Also timed: the full
JASPAR database against itself (879 queries). Prints a JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from motifscan.io.motif_formats import read_motifs
from motifscan.motifs import jaspar_path
from motifscan.motifs.compare import MotifDatabase, compare_motifs


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-memelite", action="store_true", help="time motifscan only")
    args = ap.parse_args()

    db = read_motifs(jaspar_path())
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(db), args.queries, replace=False)
    out: dict = {"queries": args.queries, "database": len(db)}

    t = time.perf_counter()
    compare_motifs(db, MotifDatabase(db))
    out["motifscan_all_vs_all_s"] = round(time.perf_counter() - t, 2)

    tomtom = None
    if not args.no_memelite:
        from memelite import tomtom

        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tomtom([db[0].probs.T.copy()], [m.probs.T.copy() for m in db], n_jobs=1)
        out["memelite_first_call_s"] = round(time.perf_counter() - t, 2)

    stats = {k: [] for k in ("agree", "rho", "lratio", "t_ours", "t_theirs", "agree_pearson",
                             "rho_pearson")}
    for i in picks:
        q = db[i]
        rest = [m for j, m in enumerate(db) if j != i]
        t = time.perf_counter()
        ours = {r.target_id: r.p_value for r in compare_motifs(q, rest, distance="ed", min_overlap=1)}
        stats["t_ours"].append(time.perf_counter() - t)
        mine = np.array([ours[m.id] for m in rest])
        pear = {r.target_id: r.p_value for r in compare_motifs(q, rest)}
        pmine = np.array([pear[m.id] for m in rest])
        if tomtom is None:
            continue
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = tomtom([q.probs.T.copy()], [m.probs.T.copy() for m in rest], n_jobs=1)[0][0]
        stats["t_theirs"].append(time.perf_counter() - t)
        best = int(np.argmin(p))
        stats["agree"].append(int(np.argmin(mine) == best))
        stats["agree_pearson"].append(int(np.argmin(pmine) == best))
        stats["rho"].append(np.corrcoef(_ranks(mine), _ranks(p))[0, 1])
        stats["rho_pearson"].append(np.corrcoef(_ranks(pmine), _ranks(p))[0, 1])
        stats["lratio"].append(float(np.log10(mine[best] / p[best])))

    out["motifscan_ms_per_query"] = round(1e3 * float(np.mean(stats["t_ours"])), 1)
    if tomtom is not None:
        out.update({
            "memelite_ms_per_query": round(1e3 * float(np.mean(stats["t_theirs"])), 1),
            "ed_best_match_agreement": f"{sum(stats['agree'])}/{len(picks)}",
            "ed_spearman_median": round(float(np.median(stats["rho"])), 4),
            "ed_spearman_min": round(float(np.min(stats["rho"])), 4),
            "ed_log10_p_ratio_at_best_median": round(float(np.median(stats["lratio"])), 3),
            "ed_log10_p_ratio_at_best_maxabs": round(float(np.max(np.abs(stats["lratio"]))), 3),
            "pearson_best_match_agreement": f"{sum(stats['agree_pearson'])}/{len(picks)}",
            "pearson_spearman_median": round(float(np.median(stats["rho_pearson"])), 4),
        })
    for k, v in out.items():
        print(f"{k:36s} {v}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
