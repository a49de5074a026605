"""The type stubs of the C++ extension (steepest/_core.pyi, made by tools/make_stubs.py) sit next
to it, name every public function and attribute of steepest._core and nothing else, and give
each function the parameter names that pybind11 reports in its signature (the first line of its
__doc__, or each numbered line of an overloaded function)."""

import ast
import re
from pathlib import Path

import pytest

from steepest import _core

STUB = Path(_core.__file__).with_name("_core.pyi")
PUBLIC = sorted(n for n in dir(_core) if not n.startswith("_"))


def _stub():
    """{name: [parameter-name lists, one per (overloaded) def]} or {name: None} for attributes."""
    names = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            params = [p.arg for p in a.posonlyargs + a.args]
            params += [a.vararg.arg] if a.vararg else []
            params += [p.arg for p in a.kwonlyargs] + ([a.kwarg.arg] if a.kwarg else [])
            names.setdefault(node.name, []).append(params)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
        elif isinstance(node, ast.Assign):
            names.update((t.id, None) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ClassDef):
            names[node.name] = None
    return {n: v for n, v in names.items() if not n.startswith("_")}


def _split_top_level(params):
    """'a: list[int] = [1, 2], b: dict[str, int]' -> ['a: list[int] = [1, 2]', 'b: dict[...]']"""
    parts, depth, cur = [], 0, ""
    for ch in params:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p.strip() for p in parts + [cur] if p.strip()]


def _runtime_parameters(name, func):
    """Parameter-name lists from pybind11's signature lines; '*' and '/' markers dropped."""
    doc = func.__doc__ or ""
    if "Overloaded function." in doc:
        lines = re.findall(rf"^\d+\. {name}\((.*)\) ->", doc, flags=re.M)
    else:
        lines = re.findall(rf"^{name}\((.*)\) ->", doc.splitlines()[0] if doc else "")
    assert lines, f"_core.{name}: no signature in its __doc__: {doc[:200]!r}"
    result = []
    for line in lines:
        params = [re.split(r"[:=]", p)[0].strip().lstrip("*") for p in _split_top_level(line)]
        result.append([p for p in params if p not in ("", "/")])
    return result


def test_stub_is_next_to_the_extension():
    assert STUB.is_file(), f"{STUB} missing: run tools/make_stubs.py"


def test_stub_names_every_public_name_and_no_other():
    stub = set(_stub())
    assert not set(PUBLIC) - stub, f"in _core, not in the stub: {sorted(set(PUBLIC) - stub)}"
    assert not stub - set(PUBLIC), f"in the stub, not in _core: {sorted(stub - set(PUBLIC))}"


# functions only: a class (StepCache) is named by the stub as a class, checked above
@pytest.mark.parametrize("name", [n for n in PUBLIC if callable(getattr(_core, n))
                                  and not isinstance(getattr(_core, n), type)])
def test_stub_parameters_match_the_extension(name):
    stub = _stub()
    assert stub.get(name) is not None, f"{name}: no def in the stub"
    assert stub[name] == _runtime_parameters(name, getattr(_core, name)), (
        f"_core.{name}: the stub's parameters differ from the extension's: "
        "run tools/make_stubs.py")
