"""The layers of ARCHITECTURE.md, read from the code: every module's imports (ast) against the
boundaries, and every function's length against the ~60-line sign to split.

Each checker is also run on planted violations, so a checker that finds nothing cannot pass
unnoticed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "losscli"

HEAVY = ("pyarrow", "pandas", "dask", "matplotlib")
RENDERING = ("rich", "matplotlib")
MAX_LINES = 60
# Functions allowed over MAX_LINES, each with its reason ("module:function": reason).
LONG_FUNCTIONS: dict[str, str] = {
    "losscli.interpret.plan:_decide_task": "split by issue 8 work (a chain of named steps)",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "losscli.engine.evaluate"
    target: str  # the imported module, e.g. "losscli.report.render"
    line: int
    top_level: bool  # executed on import (not inside a function or an ``if TYPE_CHECKING``)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The absolute names ``from ... import ...`` brings in (a module or a package member)."""
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [prefix] if node.module else [f"{prefix}.{alias.name}" for alias in node.names]


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _deferred(node: ast.AST) -> bool:
    """Code not run on import: function bodies and ``if TYPE_CHECKING:`` blocks."""
    if isinstance(node, ast.If):
        return _type_checking(node)
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)


def imports_of(module: str, source: str, is_package: bool = False) -> list[Import]:
    """Every import of a module's source, marked top-level or deferred."""
    found: list[Import] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, child.lineno, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                targets = _resolve(module, is_package, child)
                found.extend(Import(module, t, child.lineno, top) for t in targets)
            elif _deferred(child):
                visit(child, False)
            else:
                visit(child, top)

    visit(ast.parse(source), True)
    return found


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(_inside(name, f"losscli.{p}") for p in packages)


def violations(imports: list[Import]) -> list[str]:
    """Each import that crosses a boundary of ARCHITECTURE.md, in words."""
    out = []
    for imp in imports:
        src, dst = imp.module, imp.target
        where = f"{src}:{imp.line} imports {dst}"
        if (
            _inside(src, "losscli.losses")
            and _inside(dst, "losscli")
            and not any(_inside(dst, f"losscli.{p}") for p in ("losses", "errors"))
        ):
            out.append(f"{where}: losses imports nothing of losscli but errors")
        if _inside(src, "losscli.engine") and _under(dst, ("report", "ci", "cli")):
            out.append(f"{where}: engine never imports report, ci or the CLI")
        if _inside(src, "losscli.io") and _under(dst, ("engine", "report", "ci", "cli")):
            out.append(f"{where}: io never imports engine, report, ci or the CLI")
        if _inside(dst, "losscli.report") and not (
            _inside(src, "losscli.cli") or _inside(src, "losscli.report")
        ):
            out.append(f"{where}: nothing but the CLI imports report")
        if any(_inside(dst, lib) for lib in RENDERING) and not _inside(src, "losscli.report"):
            out.append(f"{where}: only report imports Rich or a plotting library")
        if imp.top_level and any(_inside(dst, lib) for lib in HEAVY):
            out.append(f"{where}: heavy libraries are imported inside the function needing them")
    return out


def _body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's body, docstring included, signature and decorators not (a
    Typer command declares its options in the signature)."""
    return (fn.end_lineno or fn.lineno) - fn.body[0].lineno + 1


def long_functions(module: str, source: str, limit: int = MAX_LINES) -> dict[str, int]:
    """``module:qualified.name`` -> body length in lines, for every function over ``limit``."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    length = _body_lines(child)
                    if length > limit:
                        found[f"{module}:{name}"] = length
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def package_modules() -> list[tuple[str, str, bool]]:
    return [
        (module_name(p, PACKAGE), p.read_text(encoding="utf-8"), p.name == "__init__.py")
        for p in sorted(PACKAGE.rglob("*.py"))
    ]


# --------------------------------------------------------------------------- the package


def test_every_import_respects_the_boundaries() -> None:
    found = [i for name, src, pkg in package_modules() for i in imports_of(name, src, pkg)]
    assert len(found) > 100, "the import reader found too few imports to be reading them"
    assert violations(found) == []


def test_no_function_is_longer_than_60_lines() -> None:
    long: dict[str, int] = {}
    for name, src, _ in package_modules():
        long.update(long_functions(name, src))
    unexplained = {k: v for k, v in long.items() if k not in LONG_FUNCTIONS}
    assert unexplained == {}, "split these functions, or list them with a reason"
    stale = sorted(set(LONG_FUNCTIONS) - set(long))
    assert stale == [], "these exceptions are no longer needed"
    assert all(reason.strip() for reason in LONG_FUNCTIONS.values())


# --------------------------------------------------------------------------- the checkers


PLANTED = {
    "losscli.losses.bad": "from losscli.engine import evaluate\nfrom losscli.errors import X\n",
    "losscli.engine.bad": "from losscli.ci.checks import Rules\n",
    "losscli.io.bad": "from ..engine.evaluate import EvaluatedChunk\n",
    "losscli.ci.bad": "import rich.table\n",
    "losscli.api": "def f():\n    from losscli.report import render\n",
    "losscli.spec": "import pandas as pd\n",
}


@pytest.mark.parametrize("module", sorted(PLANTED))
def test_the_import_checker_finds_a_planted_violation(module: str) -> None:
    found = violations(imports_of(module, PLANTED[module]))
    assert len(found) == 1, found


def test_the_import_checker_allows_what_the_layers_allow() -> None:
    allowed = {
        "losscli.losses.ok": "from losscli.errors import X\nfrom losscli.losses.base import Y\n",
        "losscli.engine.ok": "from losscli.interpret.plan import Plan\n",
        "losscli.cli.ok": "from losscli.report.render import number\n",
        "losscli.report.ok": "import rich\n",
        "losscli.io.ok": "def read():\n    import pyarrow\n",
        "losscli.ci.ok": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pandas\n",
    }
    for module, source in allowed.items():
        assert violations(imports_of(module, source)) == [], module


def test_relative_imports_resolve_to_absolute_names() -> None:
    (imp,) = imports_of("losscli.io.readers", "from ..engine.evaluate import Batch\n")
    assert imp.target == "losscli.engine.evaluate"
    (imp,) = imports_of("losscli.io.readers", "from .. import engine\n")
    assert imp.target == "losscli.engine"
    (imp,) = imports_of("losscli.io", "from .readers import Source\n", is_package=True)
    assert imp.target == "losscli.io.readers"


def test_the_length_checker_finds_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    source = f"class A:\n    def short(self):\n        pass\n\ndef long():\n{body}\n"
    assert long_functions("m", source) == {"m:long": 61}
    assert long_functions("m", source, limit=61) == {}
    nested = "class A:\n    def long(self):\n" + body.replace("    ", "        ") + "\n"
    assert long_functions("m", nested) == {"m:A.long": 61}
    signature = "def f(\n" + "".join(f"    a{i}: int,\n" for i in range(80)) + "):\n    pass\n"
    assert long_functions("m", signature) == {}
