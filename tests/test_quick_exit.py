"""The console script leaves the process at once after a command (motifscan.cli.quick_exit), and
still does what a normal exit does that can matter: threads joined, atexit handlers run, buffered
standard output flushed, the command's exit code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from pathlib import Path
    out = Path(sys.argv[1])
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    def late():
        time.sleep(0.3)
        (out / "thread").write_text("done")
    threading.Thread(target=late).start()
    for i in range(50000):  # buffered: the pipe sees it only if it is flushed at exit
        print(f"line {i}")
    sys.stdout.write("no newline at the end")
    from motifscan.cli import main
    main(sys.argv[2:])
""")


def _run(tmp_path, *args):
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), *args], capture_output=True, text=True,
                          timeout=300)


def test_normal_exit_steps_kept(tmp_path):
    res = _run(tmp_path, "--version")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:2] == ["line 0", "line 1"] and "line 49999" in lines
    assert "no newline at the end" in res.stdout and "motifscan" in res.stdout
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "done"


def test_exit_codes_kept(tmp_path):
    res = _run(tmp_path, "scan", "--no-such-option")
    assert res.returncode == 2
    assert res.stderr.count("motifscan: error:") == 1
    res = _run(tmp_path, "scan", str(tmp_path / "missing.h5"), str(tmp_path / "missing.fa"), "-o",
               str(tmp_path / "o.bedgraph"))
    assert res.returncode in (1, 2) and "missing" in res.stderr
    assert not (tmp_path / "o.bedgraph").exists()
    assert (tmp_path / "atexit").exists() and (tmp_path / "thread").exists()


def test_module_entry_point_exits_with_the_code(tmp_path):
    res = subprocess.run([sys.executable, "-m", "motifscan", "scan"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "motifscan: error:" in res.stderr


def test_interpreter_teardown_skipped(tmp_path):
    # the point of the quick exit: no module teardown (a global's finaliser would run in it)
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        class Marker:
            def __del__(self):
                Path(sys.argv[1], "teardown").write_text("ran")
        keep = Marker()
        from motifscan.cli import main
        main(["--version"])
    """)
    res = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "teardown").exists()
