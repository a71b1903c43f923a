"""Every third-party module the package (and the workflow's scripts) imports is a declared
dependency, so ``pip install .`` alone gives a working tool (a module that only some test or
workflow extra happened to pull in once broke the README's demo command on a fresh machine)."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli there
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels(paths) -> set[str]:
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_imports_are_declared_dependencies():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_norm(re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0]) for d in meta["dependencies"]}
    sources = [*(REPO / "motifscan").rglob("*.py"), *(REPO / "workflows" / "scripts").glob("*.py")]
    third_party = _imported_top_levels(sources) - set(sys.stdlib_module_names) - {"motifscan", "_common"}
    dists = packages_distributions()
    missing = {m: dists.get(m, ["?"]) for m in third_party if not {_norm(d) for d in dists.get(m, [])} & declared}
    assert not missing, f"imported but not in [project] dependencies: {missing}"
