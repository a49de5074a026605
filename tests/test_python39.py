"""The package supports CPython 3.9 (the wheels cover 3.9-3.13), while CI runs one newer Python:
this reads every module of steepest as 3.9 would. It parses with 3.9's grammar, and refuses the
3.10 idiom that parses on 3.9 but fails when run: ``X | Y`` of types evaluated at run time (in
isinstance/issubclass, or in an annotation of a module without ``from __future__ import
annotations``). Such an ``isinstance(shape, tuple | list)`` once broke every LayerNorm on 3.9."""

import ast
from pathlib import Path

import pytest

import steepest

# The package the tests import: the source tree's, or an installed wheel's (tools/build_wheels.py
# runs the suite against the wheel, from a copy of tests/ alone).
PACKAGE = Path(steepest.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))


def _has_future_annotations(tree):
    return any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
               and any(alias.name == "annotations" for alias in node.names)
               for node in tree.body)


def _type_unions(tree):
    """Line numbers of ``A | B`` where 3.9 evaluates it as types."""
    lazy = _has_future_annotations(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2:
            kinds = node.args[1]
            if isinstance(kinds, ast.BinOp) and isinstance(kinds.op, ast.BitOr):
                found.append(node.lineno)
        if not lazy and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs
                           + node.args.posonlyargs] + [node.returns]
            for a in annotations:
                if a is not None and any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr)
                                         for n in ast.walk(a)):
                    found.append(a.lineno)
        if not lazy and isinstance(node, ast.AnnAssign) and any(
                isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr)
                for n in ast.walk(node.annotation)):
            found.append(node.lineno)
    return found


def test_modules_found():
    assert len(MODULES) > 30 and PACKAGE / "__init__.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_reads_as_python39(path):
    source = path.read_text()
    tree = ast.parse(source, filename=str(path), feature_version=(3, 9))
    assert _type_unions(tree) == [], (f"{path.name}: X | Y of types at lines "
                                      f"{_type_unions(tree)} fails on Python 3.9; use (X, Y) "
                                      f"or typing.Union")


def test_the_check_finds_the_idiom():
    bad = ast.parse("def f(x: int | None): return isinstance(x, tuple | list)\n")
    assert _type_unions(bad) == [1, 1]
    good = ast.parse("from __future__ import annotations\n"
                     "def f(x: int | None): return isinstance(x, (tuple, list)) | 1\n")
    assert _type_unions(good) == []
