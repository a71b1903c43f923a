"""Sequence logos: letters scaled by information content, drawn with logomaker (matplotlib Agg).

Each position's letters are stacked with heights ``p_b * IC`` bits (IC relative to the motif's
background, :meth:`Motif.information_content`), the classic Schneider-Stephens logo; the y axis
runs from 0 to 2 bits. Files are written atomically; the format follows the extension
(``.png`` or ``.svg``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_path, check_output_path
from ..errors import UsageError
from .pwm import ALPHABET, Motif

__all__ = ["plot_logo", "plot_logos", "plot_enrichment", "logo_heights", "logo_filename"]

_FORMATS = {".png": "png", ".svg": "svg"}


def logo_heights(motif: Motif) -> np.ndarray:
    """``(W, 4)`` letter heights in bits: ``probs * information_content[:, None]``."""
    return motif.probs * np.maximum(motif.information_content(), 0.0)[:, None]


def logo_filename(motif: Motif, suffix: str = ".png") -> str:
    """A safe file name for ``motif``'s logo: its id with path-unsafe characters replaced."""
    stem = re.sub(r"[^A-Za-z0-9._+-]+", "_", motif.id).strip("._") or "motif"
    return stem + suffix


def plot_logo(motif: Motif, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Draw ``motif``'s information-content logo to ``path`` (PNG or SVG by extension).

    Parameters
    ----------
    motif
        The motif.
    path
        Output file, ``.png`` or ``.svg``; written atomically.
    title
        Plot title; default ``"id alt"``.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"logo files are .png or .svg, not {path.suffix or '(none)'!r}",
                         path=path, hint="name the file .png or .svg")
    check_output_path(path)

    import matplotlib

    matplotlib.use("Agg", force=False)  # headless; a no-op when a backend is already Agg
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    heights = pd.DataFrame(logo_heights(motif), columns=list(ALPHABET))
    fig, ax = plt.subplots(figsize=(max(2.5, 0.45 * motif.width + 1.0), 2.2))
    try:
        logomaker.Logo(heights, ax=ax, color_scheme="classic", font_name="DejaVu Sans Mono")
        ax.set_ylim(0, max(2.0, float(heights.to_numpy().sum(axis=1).max())))
        ax.set_ylabel("bits")
        ax.set_xticks(range(motif.width))
        ax.set_xticklabels([str(i + 1) for i in range(motif.width)], fontsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        label = title if title is not None else " ".join(x for x in (motif.id, motif.alt) if x)
        ax.set_title(label, fontsize=9)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150)
    finally:
        plt.close(fig)
    return path


def plot_logos(motifs: Sequence[Motif], directory: str | os.PathLike, svg: bool = False) -> list[Path]:
    """Write one logo per motif into ``directory``: ``ID.png``, plus ``ID.svg`` when ``svg``.

    The directory is created if missing; names come from :func:`logo_filename` (a repeated id
    gets ``_2``, ``_3``, ...). Returns the written paths (PNG, then SVG, per motif).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    used: set[str] = set()
    for m in motifs:
        stem = base = logo_filename(m, "")
        k = 2
        while stem in used:  # duplicate ids must not overwrite each other's logos
            stem, k = f"{base}_{k}", k + 1
        used.add(stem)
        out.append(plot_logo(m, directory / f"{stem}.png"))
        if svg:
            out.append(plot_logo(m, directory / f"{stem}.svg"))
    return out


def plot_enrichment(motifs: Sequence[Motif], neg_log10_q: Sequence[float], path: str | os.PathLike, *,
                    title: str = "", labels: Sequence[str] | None = None) -> Path:
    """Bar chart of ``-log10 q`` per motif with each motif's logo beside its bar (PNG or SVG).

    Parameters
    ----------
    motifs
        The motifs to show, top first (``motifscan enrich --plot`` passes the best 20).
    neg_log10_q
        ``-log10`` of each motif's q-value (finite; from the natural-log q-values).
    path
        Output file, ``.png`` or ``.svg``; written atomically.
    title
        Figure title (e.g. the peak set's name).
    labels
        Bar labels (default ``"id alt"``).
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"plots are .png or .svg, not {path.suffix or '(none)'!r}", path=path,
                         hint="name the file .png or .svg")
    check_output_path(path)

    import matplotlib

    matplotlib.use("Agg", force=False)
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    n = max(1, len(motifs))
    labels = list(labels) if labels is not None else [" ".join(x for x in (m.id, m.alt) if x) for m in motifs]
    fig, axes = plt.subplots(n, 2, figsize=(9.0, 0.55 * n + 1.0), squeeze=False,
                             gridspec_kw={"width_ratios": [1.0, 1.6]})
    try:
        top = max([float(v) for v in neg_log10_q] + [1.0])
        for row, (m, v, label) in enumerate(zip(motifs, neg_log10_q, labels)):
            lax, bax = axes[row]
            heights = pd.DataFrame(logo_heights(m), columns=list(ALPHABET))
            logomaker.Logo(heights, ax=lax, color_scheme="classic", font_name="DejaVu Sans Mono")
            lax.set_ylim(0, 2.0)
            lax.axis("off")
            bax.barh([0], [float(v)], color="#4c72b0", height=0.7)
            bax.set_xlim(0, top * 1.05)
            bax.axvline(-np.log10(0.05), color="grey", lw=0.6, ls="--")  # q = 0.05
            bax.set_yticks([0])
            bax.set_yticklabels([label], fontsize=8)
            bax.yaxis.tick_right()
            bax.spines[["top", "left"]].set_visible(False)
            if row < n - 1:
                bax.set_xticklabels([])
        if not motifs:
            axes[0][1].text(0.5, 0.5, "no motifs", ha="center", va="center")
        axes[-1][1].set_xlabel("-log10 q-value")
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120)
    finally:
        plt.close(fig)
    return path
