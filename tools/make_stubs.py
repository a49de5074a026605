#!/usr/bin/env python3
"""Regenerate python/steepest/_core.pyi, the type stubs of the C++ extension, from the built
extension with pybind11-stubgen (`pip install pybind11-stubgen`). Re-run it whenever a binding
changes; tests/test_stubs.py fails while the stub and the extension disagree.

    /work/devbuild.sh . && python tools/make_stubs.py     # imports steepest from ./python
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STUB = REPO / "python" / "steepest" / "_core.pyi"
HEADER = ("# Type stubs of steepest._core, generated from the built extension by tools/make_stubs.py\n"
          "# (pybind11-stubgen); tests/test_stubs.py checks them against the extension. Do not edit.\n")


def main():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO / "python")] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", "--exit-code", "-o", out,
                        "steepest._core"], check=True, env=env)
        text = (Path(out) / "steepest" / "_core.pyi").read_text()
    # Module attributes whose values depend on the build (the compiler's name and version) or
    # are tables (rules) keep their type only.
    text = re.sub(r"^(\w+): (str|int|bool|dict) = .*$", r"\1: \2", text, flags=re.M)
    STUB.write_text(HEADER + text)
    print(f"wrote {STUB.relative_to(REPO)}")


if __name__ == "__main__":
    main()
