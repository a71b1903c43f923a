"""The README's test command runs every test: nothing skips for a module or tool that ``[test]``
could install. The only skips allowed are a missing CUDA/MPS device and opt-ins whose reason names
the environment variable that turns them on; ``importorskip`` only for optional third-party tools
listed below with the reason they are not in ``[test]``. And every third-party module a test
imports is declared (``[project] dependencies`` or the ``test`` extra)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from test_packaging import _imported_top_levels, _norm, tomllib

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# module -> why it cannot be in [test] (none today: every tool the tests use installs with pip)
OPTIONAL_TOOLS: dict[str, str] = {}
# a skip's reason must say it is a missing device, or name the variable of an opt-in
ALLOWED_REASON = re.compile(r"\b(CUDA|MPS)\b|\bMOTIFSCAN_[A-Z0-9_]+=1\b")


def _reason(call: ast.Call, positional: int) -> str | None:
    """The reason string of a skip call (keyword ``reason``/``msg`` or the given positional)."""
    node = next((k.value for k in call.keywords if k.arg in ("reason", "msg")), None)
    if node is None and len(call.args) > positional:
        node = call.args[positional]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def _skips():
    """(file:line, kind, call) for every importorskip, skip and skipif call in tests/."""
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                kind = node.func.attr
                if kind in ("importorskip", "skip", "skipif"):
                    yield f"{path.name}:{node.lineno}", kind, node


def test_no_skip_for_a_missing_module_or_tool():
    bad = []
    for where, kind, call in _skips():
        if kind == "importorskip":
            module = call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None
            if module is None or module.split(".")[0] not in OPTIONAL_TOOLS:
                bad.append(f"{where}: importorskip({module!r}): add it to [test] and import it")
        else:
            reason = _reason(call, 1 if kind == "skipif" else 0)
            if reason is None or not ALLOWED_REASON.search(reason):
                bad.append(f"{where}: {kind}(reason={reason!r}): only a missing CUDA/MPS device or "
                           "an opt-in naming its MOTIFSCAN_...=1 variable may skip")
    assert not bad, "\n".join(bad)


def test_the_check_sees_skips():
    """The scanner above finds the skips the suite has (the device fixture's CUDA skip), and a
    disallowed reason would be reported."""
    found = {(w.split(":")[0], k) for w, k, _ in _skips()}
    assert ("conftest.py", "skip") in found
    call = ast.parse('pytest.mark.skipif(shutil.which("x") is None, reason="x not installed")').body[0].value
    assert _reason(call, 1) == "x not installed" and not ALLOWED_REASON.search("x not installed")
    assert ALLOWED_REASON.search("no CUDA GPU") and ALLOWED_REASON.search("set MOTIFSCAN_E2E=1 (CI)")


def _requirement_names(reqs: list[str], extras: dict[str, list[str]]) -> set[str]:
    """Distribution names of requirements, expanding ``motifscan[extra]`` self-references."""
    names = set()
    for req in reqs:
        m = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\]]+)\])?", req)
        name = _norm(m.group(1))
        if name == "motifscan":
            for extra in (m.group(2) or "").split(","):
                names |= _requirement_names(extras[extra.strip()], extras)
        else:
            names.add(name)
    return names


def test_test_imports_are_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = _requirement_names(project["dependencies"] + extras["test"], extras)
    local = {p.stem for p in TESTS.glob("*.py")} | {"motifscan"}
    third_party = _imported_top_levels(TESTS.glob("*.py")) - set(sys.stdlib_module_names) - local
    dists = packages_distributions()
    # a module not installed here (tomli on Python >= 3.11) is looked up by its own name
    missing = {m: dists.get(m, [m]) for m in third_party - set(OPTIONAL_TOOLS)
               if not {_norm(d) for d in dists.get(m, [m])} & declared}
    assert not missing, f"tests import these, but [test] does not declare them: {missing}"
