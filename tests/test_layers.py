"""Layers point one way: the import-linter contracts of pyproject.toml hold, cover every module,
and break when a module imports a layer above it (so the check itself can fail)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli there
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
# modules outside the layers: the version string, `python -m motifscan`, and the package inits
# that only re-export (motifscan.motifs spreads over three layers, its submodules are placed)
UNLAYERED = {"motifscan", "motifscan._version", "motifscan.__main__", "motifscan.motifs"}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the package under ``root`` with ``root``'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy under root, not the installed one
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", "--no-logo"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def _contracts() -> list[dict]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _modules() -> set[str]:
    names = set()
    for path in (REPO / "motifscan").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_contracts_are_kept():
    res = lint_imports(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Contracts: 5 kept, 0 broken." in res.stdout, res.stdout


def test_every_module_has_a_layer():
    """A new module must be placed in [tool.importlinter] (see the comment there for where)."""
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    (container,) = layers["containers"]
    placed = {f"{container}.{name.strip()}" for layer in layers["layers"] for name in layer.split("|")}
    unplaced = {m for m in _modules() - UNLAYERED
                if not any(m == p or m.startswith(p + ".") for p in placed)}
    assert not unplaced, f"place these modules in a layer of [tool.importlinter]: {sorted(unplaced)}"
    assert placed <= _modules(), f"layers name missing modules: {sorted(placed - _modules())}"


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(REPO / "motifscan", tmp_path / "motifscan",
                    ignore=shutil.ignore_patterns("__pycache__", "resources"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with open(tmp_path / "motifscan" / "io" / "hits.py", "a") as fh:
        fh.write("\nfrom ..scan import run  # noqa: E402  io must not import scan\n")
    with open(tmp_path / "motifscan" / "model.py", "a") as fh:
        fh.write("\nfrom .cli import main  # noqa: E402  nothing imports the CLI\n")
    with open(tmp_path / "motifscan" / "kernels" / "conv.py", "a") as fh:
        fh.write("\nfrom ..data import datasets  # noqa: E402  the bank's maths reads no dataset\n")
    res = lint_imports(tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "motifscan.io.hits -> motifscan.scan.run" in res.stdout
    assert "motifscan.model -> motifscan.cli" in res.stdout
    assert "motifscan.kernels.conv -> motifscan.data.datasets" in res.stdout
    assert "Contracts: 2 kept, 3 broken." in res.stdout, res.stdout


def _layout_tree() -> str:
    """The code block of the README's Layout section."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Layout\n"):]
    return section.split("```")[1]


def _named_in_layout(tree: str) -> set[str]:
    """Modules the tree names: ``PKG/`` entries' words (``PKG.word``) and top-level ``NAME.py`` words."""
    names, package = set(), None
    for line in tree.splitlines():
        stripped = line.strip()
        if not stripped or line.startswith(("motifscan/", "models/", "workflows/", "examples/", "tests/")):
            continue
        head = stripped.split()[0]
        if line.startswith("  ") and not line.startswith("   ") and head.endswith("/"):
            package = head[:-1]  # a new package entry
        elif line.startswith("  ") and not line.startswith("   "):
            package = None  # a line of top-level modules
        words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:\.py)?", stripped)
        names |= {f"motifscan.{w[:-3]}" for w in words if w.endswith(".py")}
        if package is not None:
            names |= {f"motifscan.{package}.{w}" for w in words}
    return names


def test_every_module_is_named_in_the_readme_layout():
    """A new module must be named in the README's Layout (the rule is written under the tree)."""
    named = _named_in_layout(_layout_tree())
    unnamed = sorted(m for m in _modules() - UNLAYERED
                     if not m.endswith("__init__") and m.count(".") <= 2 and m not in named
                     and not (m.count(".") == 1 and (REPO / "motifscan" / m.split(".")[1]).is_dir()))
    assert not unnamed, f"name these modules in the README's Layout (see the rule below its tree): {unnamed}"


def test_the_layout_check_can_fail():
    tree = _layout_tree()
    named = _named_in_layout(tree)
    assert {"motifscan.kernels.conv", "motifscan.model", "motifscan.cli._inputs"} <= named
    assert "motifscan.kernels.conv" not in _named_in_layout(tree.replace("conv,", "convolution,"))
