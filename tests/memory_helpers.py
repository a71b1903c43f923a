"""Peak memory of a fresh Python process: how the memory-bound tests measure.

``VmHWM`` (the resident high-water mark of the process's own address space) is read from
``/proc/self/status`` at the end of the child: unlike ``getrusage``'s ``ru_maxrss``, it is not
inherited from the (large) pytest process that started the child.
"""

from __future__ import annotations

import os
import subprocess
import sys


_WRAPPER = """
import sys
from motifscan.cli._base import main
code = main(sys.argv[1:])
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0].split()[1]
print(f"PEAK_KB {hwm} EXIT {code}", file=sys.stderr)
"""

_LOAD = """
import sys
from motifscan.model import load_model
load_model(sys.argv[1])
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0].split()[1]
print(f"PEAK_KB {hwm} EXIT 0", file=sys.stderr)
"""

def _peak(code: str, args: list[str], timeout: float) -> tuple[float, int, str]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    last = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK_KB ")]
    assert last, proc.stderr[-2000:]
    _, kb, _, exit_code = last[-1].split()
    return int(kb) / 1024, int(exit_code), proc.stderr


def cli_peak_mb(argv: list[str], timeout: float = 300) -> tuple[float, int, str]:
    """``(peak resident MB, exit code, stderr)`` of ``motifscan ARGV`` run in a fresh process."""
    return _peak(_WRAPPER, argv, timeout)


def load_peak_mb(path) -> float:
    """Peak resident MB of a fresh process that loads the model file at ``path``."""
    return _peak(_LOAD, [str(path)], 120)[0]
