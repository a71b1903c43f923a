"""Leaving the process once a command is done, without tearing the interpreter down.

With torch and numba loaded, CPython's own shutdown (module teardown, repeated full garbage
collections over torch's objects, torch's operator registry unregistering itself) takes 0.4-1 s
of one core after the command's work is over: a quarter of a small scan's wall time, paid again by
every job of a sharded workflow. Nothing in it is the command's: every output is closed and
committed (:mod:`motifscan.atomic`) before :func:`motifscan.cli._base.main` returns. So the
console script ends the way the interpreter would up to that point -- other threads joined, the
``atexit`` handlers run (logging's flush among them), standard streams flushed -- and then
``os._exit`` with the command's code.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

__all__ = ["exit_now"]

#: Exit status when the final flush of stdout/stderr fails (a closed pipe), as CPython's own.
FLUSH_FAILED = 120


def exit_now(code: int) -> None:
    """End the process with ``code`` after the steps of a normal exit that can matter.

    Other non-daemon threads are joined first, as the interpreter does (with the hooks
    ``concurrent.futures`` uses to stop its idle workers); where that hook is missing (another
    Python), or a thread is still alive afterwards, this falls back to ``sys.exit``.
    """
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:
        sys.exit(code)
    shutdown()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: what CPython reports as 120
            code = code or FLUSH_FAILED
    os._exit(code)
