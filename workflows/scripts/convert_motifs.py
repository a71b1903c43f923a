"""Rewrite a motif file in another format (the extension of -o picks it: .jaspar, .transfac,
.motif for HOMER, .meme).

    python convert_motifs.py motifs.meme -o motifs.jaspar
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("motifs")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    with one_line_errors(__file__):
        from motifscan.io.motif_formats import read_motifs, write_motifs

        write_motifs(read_motifs(args.motifs), args.output)


if __name__ == "__main__":
    main()
