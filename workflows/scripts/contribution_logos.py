"""Per-base contribution logos of the top-scoring sequences of `motifscan attribute`.

    python contribution_logos.py attributions.npz --sequences sequences.npz --top 3 --width 60 -o logos/

For the ``--top`` sequences with the highest model score (the NPZ's ``scores``), the contribution
of each base (the centred attribution at the reference base, as ``motifscan attribute`` defines
it) is drawn as a logo over the ``--width`` bases around the strongest stretch. Writes
``logos/1.png`` .. and ``logos/index.tsv`` (rank, name, score, start, end).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402


def draw(attr: np.ndarray, onehot: np.ndarray, names, scores, top: int, width: int, out: Path) -> list[list]:
    import matplotlib

    matplotlib.use("Agg")
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    centred = attr - attr.mean(axis=1, keepdims=True)
    contrib = centred * onehot  # (N, 4, L): the reference base's contribution, 0 elsewhere
    order = np.argsort(-scores, kind="stable")[:top]
    rows = []
    L = attr.shape[2]
    w = min(width, L)
    for rank, i in enumerate(order, start=1):
        per_base = contrib[i].sum(axis=0)
        run = np.convolve(per_base, np.ones(w), mode="valid")
        start = int(np.argmax(run))
        frame = pd.DataFrame(contrib[i][:, start : start + w].T, columns=list("ACGT"))
        fig, ax = plt.subplots(figsize=(max(6, w / 6), 1.8))
        logomaker.Logo(frame, ax=ax, color_scheme="classic")
        ax.axhline(0, color="#888", lw=0.5)
        ax.set_title(f"{names[i]}  (score {scores[i]:.3f}; bases {start}-{start + w} of {L})", fontsize=9)
        ax.set_ylabel("contribution")
        fig.tight_layout()
        fig.savefig(out / f"{rank}.png", dpi=110)
        plt.close(fig)
        rows.append([rank, str(names[i]), f"{scores[i]:.4g}", start, start + w])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("attributions")
    ap.add_argument("--sequences", required=True, help="one-hot NPZ (motifscan attribute --onehot-out)")
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--width", type=int, default=60)
    ap.add_argument("-o", "--output", required=True, help="output folder (made atomically)")
    args = ap.parse_args()
    with one_line_errors(__file__):
        import os
        import shutil
        import tempfile

        out = Path(args.output)
        if out.exists():
            shutil.rmtree(out)
        a = np.load(args.attributions)
        onehot = np.load(args.sequences)["arr_0"]
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent if str(out.parent) else "."))
        try:
            rows = draw(a["arr_0"], onehot, a["names"], a["scores"], args.top, args.width, tmp)
            (tmp / "index.tsv").write_text("rank\tname\tscore\tstart\tend\n"
                                           + "".join("\t".join(map(str, r)) + "\n" for r in rows))
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


if __name__ == "__main__":
    main()
