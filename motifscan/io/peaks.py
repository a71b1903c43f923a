"""Peaks: windows scoring ``>= threshold``, merged into narrowPeak-like intervals as they stream.

Windows whose spans overlap or touch are merged into one interval; narrowPeak columns: chrom,
start, end, name (``chrom:start-end``), score (``round(1000 * max)``, at most 1000), strand ``.``,
signalValue (max probability), pValue ``-1``, qValue ``-1``, peak (summit offset from start: the
centre of the best window, the first on ties).
"""

from __future__ import annotations

import numpy as np

from .writer import TextWriter

__all__ = ["PeakWriter"]


class PeakWriter(TextWriter):
    """Windows scoring ``>= threshold``, merged into narrowPeak-like intervals as they stream."""

    def __init__(self, path, window: int, threshold: float) -> None:
        super().__init__(path)
        self.window, self.threshold = window, threshold
        self._cur: list | None = None  # [chrom, start, end, best, summit]
        self.count = 0

    def write(self, ws) -> None:
        if not len(ws):
            return
        sel = np.flatnonzero(ws.score[:, 0] >= self.threshold)
        out = []
        for k in sel.tolist():
            chrom, q, v = ws.names[ws.row[k]], int(ws.start[k]), float(ws.score[k, 0])
            cur = self._cur
            if cur is not None and cur[0] == chrom and q <= cur[2]:
                cur[2] = max(cur[2], q + self.window)
                if v > cur[3]:
                    cur[3], cur[4] = v, q + self.window // 2
            else:
                if cur is not None:
                    out.append(self._line(cur))
                self._cur = [chrom, q, q + self.window, v, q + self.window // 2]
        if out:
            self.fh.write("".join(out))

    def _line(self, p) -> str:
        self.count += 1
        chrom, s, e, v, summit = p
        return f"{chrom}\t{s}\t{e}\t{chrom}:{s}-{e}\t{min(1000, round(1000 * v))}\t.\t{v:.6g}\t-1\t-1\t{summit - s}\n"

    def finish(self) -> None:
        if self._cur is not None:
            self.fh.write(self._line(self._cur))
            self._cur = None
