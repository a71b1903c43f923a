"""The progress bar of a scan: bases done of total, Mbp/s, ETA; shown only on a terminal."""

from __future__ import annotations

import sys
import time



__all__ = ["Progress"]

class Progress:
    """A tqdm bar in bases (done of total, Mbp/s, ETA) shown only on a TTY and when not quiet."""

    def __init__(self, total: int | None, quiet: bool = False, desc: str = "scan") -> None:
        self._bar = None
        self.done = 0
        self.t0 = time.perf_counter()
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc=desc, unit="bp", unit_scale=True, unit_divisor=1000,
                dynamic_ncols=True, leave=False,
            )

    def update(self, bases: int) -> None:
        self.done += bases
        if self._bar is not None:
            self._bar.update(bases)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def rate(self) -> float:
        """Bases per second so far."""
        return self.done / max(time.perf_counter() - self.t0, 1e-9)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
