"""steepest's run-time configuration: show_config(), the thread count, the SIMD target chosen at
import (STEEPEST_SIMD) and the ``steepest config`` command.

Whatever changes the process-wide configuration (the target, the thread count) either restores
it afterwards or runs in a subprocess.
"""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import steepest
from steepest import _core

COMPILED = list(_core.compiled_targets())
SUPPORTED = list(_core.supported_targets())


def run_python(code, tmp_path, **env):
    """Runs ``python -c code`` in a fresh interpreter (in ``tmp_path``, so that only the installed
    package is importable) with ``env`` added to the environment; ``None`` removes a variable."""
    environ = dict(os.environ)
    environ.pop("STEEPEST_SIMD", None)
    for k, v in env.items():
        if v is None:
            environ.pop(k, None)
        else:
            environ[k] = v
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=environ, capture_output=True, text=True,
        timeout=120,
    )


# Prints the active target, or the ImportError of `import steepest`.
IMPORT_AND_REPORT = """
try:
    import steepest
except ImportError as e:
    print("ImportError:", e)
else:
    print("active:", steepest._core.active_target())
"""


# ---------------------------------------------------------------------------------------------
# show_config


def test_show_config_prints_everything(capsys):
    assert steepest.show_config() is None
    out = capsys.readouterr().out
    assert steepest.__version__ in out
    lines = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
             for line in out.splitlines() if ":" in line}
    assert lines["SIMD target in use"] == _core.active_target()
    assert lines["compiled targets"] == ", ".join(COMPILED)
    assert lines["supported by CPU"] == ", ".join(SUPPORTED)
    assert lines["threads"] == str(steepest.get_num_threads())
    assert lines["compiler"] == _core.compiler


def test_show_config_dicts_matches_core():
    config = steepest.show_config(mode="dicts")
    assert {"version", "simd", "threads", "compiler"} <= set(config)
    assert {"compiled", "supported", "active"} <= set(config["simd"])
    simd = config["simd"]
    assert config["version"] == steepest.__version__
    assert simd["compiled"] == COMPILED
    assert simd["supported"] == SUPPORTED
    assert simd["active"] == _core.active_target()
    assert simd["active"] in simd["supported"]
    assert set(simd["supported"]) <= set(simd["compiled"])
    assert "baseline" in simd["compiled"] and "baseline" in simd["supported"]
    # Lowest first, and the supported ones keep the compiled order.
    assert simd["compiled"][0] == "baseline"
    assert simd["supported"] == [t for t in simd["compiled"] if t in simd["supported"]]
    assert len(set(simd["compiled"])) == len(simd["compiled"])
    assert config["threads"] == steepest.get_num_threads() == _core.get_num_threads()
    assert isinstance(config["threads"], int) and config["threads"] >= 1
    assert config["compiler"] == _core.compiler and isinstance(config["compiler"], str)


def test_show_config_follows_the_active_target_and_threads(capsys):
    previous_target, previous_threads = _core.active_target(), steepest.get_num_threads()
    try:
        _core.select_target("baseline")
        steepest.set_num_threads(3)
        config = steepest.show_config(mode="dicts")
        assert config["simd"]["active"] == "baseline" and config["threads"] == 3
        steepest.show_config()
        out = capsys.readouterr().out
        assert "SIMD target in use : baseline" in out
        assert "threads            : 3" in out
    finally:
        _core.select_target(previous_target)
        steepest.set_num_threads(previous_threads)


def test_show_config_bad_mode():
    with pytest.raises(ValueError, match=r"show_config: mode must be 'stdout' or 'dicts', got 'json'"):
        steepest.show_config(mode="json")


# ---------------------------------------------------------------------------------------------
# threads


@pytest.fixture
def restore_threads():
    previous = steepest.get_num_threads()
    yield previous
    steepest.set_num_threads(previous)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_set_num_threads_round_trip(restore_threads, n):
    steepest.set_num_threads(n)
    assert steepest.get_num_threads() == n
    assert _core.get_num_threads() == n


@pytest.mark.parametrize("n", [0, -1, -100])
def test_set_num_threads_below_one(restore_threads, n):
    with pytest.raises(ValueError, match=rf"num_threads must be >= 1, got {n}"):
        steepest.set_num_threads(n)
    assert steepest.get_num_threads() == restore_threads


@pytest.mark.parametrize("n", [2.0, "2", None, True, [2]], ids=repr)
def test_set_num_threads_not_an_int(restore_threads, n):
    with pytest.raises(TypeError, match=r"set_num_threads: expected an int"):
        steepest.set_num_threads(n)
    assert steepest.get_num_threads() == restore_threads


def test_set_num_threads_too_large(restore_threads):
    with pytest.raises(ValueError, match=r"num_threads"):
        steepest.set_num_threads(2**40)
    assert steepest.get_num_threads() == restore_threads


def test_omp_num_threads_sets_the_default(tmp_path):
    r = run_python("import steepest; print(steepest.get_num_threads())", tmp_path,
                   OMP_NUM_THREADS="3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


# ---------------------------------------------------------------------------------------------
# STEEPEST_SIMD


def test_default_target_is_the_best_supported(tmp_path):
    r = run_python(IMPORT_AND_REPORT, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"active: {SUPPORTED[-1]}"


# The flags /proc/cpuinfo lists (Linux: the kernel's view of cpuid and of the register
# states the OS saves) that each target's kernels need.
TARGET_FLAGS = {"avx2": {"avx2", "fma", "f16c"},
                "avx512": {"avx512f", "avx512vl", "avx512bw", "avx512dq", "fma", "f16c"}}


def _cpuinfo_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


@pytest.mark.skipif(_cpuinfo_flags() is None, reason="needs /proc/cpuinfo (Linux x86)")
def test_supported_targets_agree_with_cpuinfo():
    """A compiled target is supported exactly when the CPU has its features: a build whose
    feature detection fails (a wheel once ran the baseline kernels on an AVX-512 machine)
    fails here."""
    flags = _cpuinfo_flags()
    for target in COMPILED:
        if target in TARGET_FLAGS:
            assert (target in SUPPORTED) == TARGET_FLAGS[target].issubset(flags), (
                target, sorted(TARGET_FLAGS[target] - flags), SUPPORTED)


@pytest.mark.skipif(_cpuinfo_flags() is None, reason="needs /proc/cpuinfo (Linux x86)")
def test_conversions_named_by_target_and_cpu(simd_target):
    """show_config names the 16-bit conversions in use: vcvtneps2bf16 on the avx512 target of a
    CPU with AVX-512 BF16, bit operations elsewhere (tests/optim/test_precision.py checks that
    both give the same bits, on every target); and the int8 state's way (test_int8_state.py)."""
    conversions = steepest.show_config("dicts")["simd"]["conversions"]
    if simd_target == "avx512" and "avx512_bf16" in _cpuinfo_flags():
        assert conversions.startswith("bfloat16: vcvtneps2bf16 (AVX-512 BF16); float16: F16C")
    else:
        assert conversions.startswith("bfloat16: bit operations; float16: ")
    # int8 state (csrc/optim/quantize.cc): VBMI byte permutes where the CPU has them
    int8 = conversions.split("; int8 state: ")[1]
    if simd_target == "avx512":
        vbmi = "avx512vbmi" in _cpuinfo_flags()
        assert int8 == ("permutes, restored by vpermb (AVX-512 VBMI)" if vbmi else "permutes")
        _core._allow_avx512_vbmi(False)
        try:
            assert steepest.show_config("dicts")["simd"]["conversions"].endswith(
                "; int8 state: permutes")
        finally:
            _core._allow_avx512_vbmi(True)
    elif simd_target == "avx2":
        assert int8 == "8-lane compares and permutes, restored element by element"
    else:
        assert int8 == "element by element"


@pytest.mark.parametrize("value", ["baseline", " baseline ", "baseline\n"], ids=repr)
def test_steepest_simd_baseline(tmp_path, value):
    r = run_python(IMPORT_AND_REPORT, tmp_path, STEEPEST_SIMD=value)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "active: baseline"


@pytest.mark.parametrize("target", SUPPORTED)
def test_steepest_simd_every_supported_target(tmp_path, target):
    code = "import steepest; c = steepest.show_config('dicts'); print(c['simd']['active'])"
    r = run_python(code, tmp_path, STEEPEST_SIMD=target)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == target


def test_steepest_simd_empty_means_default(tmp_path):
    r = run_python(IMPORT_AND_REPORT, tmp_path, STEEPEST_SIMD="")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"active: {SUPPORTED[-1]}"


@pytest.mark.parametrize("value", ["nonsense", "AVX2x", "sse9"])
def test_steepest_simd_unknown_target_fails_import(tmp_path, value):
    r = run_python(IMPORT_AND_REPORT, tmp_path, STEEPEST_SIMD=value)
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip()
    assert out.startswith("ImportError:"), out
    assert f"STEEPEST_SIMD={value!r}" in out
    assert "unknown SIMD target" in out
    assert "compiled in: " + ", ".join(COMPILED) in out


def test_steepest_simd_unknown_target_uncaught(tmp_path):
    """Without a try/except the interpreter exits with the ImportError's traceback."""
    r = run_python("import steepest", tmp_path, STEEPEST_SIMD="nonsense")
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "nonsense" in r.stderr
    for target in COMPILED:
        assert target in r.stderr


def test_steepest_simd_avx512_on_a_cpu_without_it(tmp_path):
    if "avx512" in SUPPORTED:
        pytest.skip("this CPU supports AVX-512, so STEEPEST_SIMD=avx512 is valid here")
    if "avx512" not in COMPILED:
        pytest.skip("avx512 is not compiled into this build (not an x86-64 build?)")
    r = run_python(IMPORT_AND_REPORT, tmp_path, STEEPEST_SIMD="avx512")
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip()
    assert out.startswith("ImportError:"), out
    assert "STEEPEST_SIMD='avx512'" in out
    assert "compiled in but this CPU cannot run it" in out
    assert "supported: " + ", ".join(SUPPORTED) in out


def test_select_target_in_process_errors():
    previous = _core.active_target()
    with pytest.raises(ValueError, match=r"unknown SIMD target 'nonsense'; compiled in: "):
        _core.select_target("nonsense")
    assert _core.active_target() == previous
    for target in COMPILED:
        if target not in SUPPORTED:
            with pytest.raises(ValueError, match=r"this CPU cannot run it"):
                _core.select_target(target)
            assert _core.active_target() == previous


# ---------------------------------------------------------------------------------------------
# the `steepest` command


def _check_config_output(out):
    assert f"steepest {steepest.__version__}" in out
    assert f"SIMD target in use : {SUPPORTED[-1]}" in out
    assert "compiled targets   : " + ", ".join(COMPILED) in out
    assert "supported by CPU   : " + ", ".join(SUPPORTED) in out
    assert "threads            : " in out
    assert f"compiler           : {_core.compiler}" in out


def test_python_m_steepest_config(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k != "STEEPEST_SIMD"}
    r = subprocess.run([sys.executable, "-m", "steepest", "config"], cwd=tmp_path, env=environ,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    _check_config_output(r.stdout)


def test_python_m_steepest_config_honours_steepest_simd(tmp_path):
    environ = dict(os.environ, STEEPEST_SIMD="baseline")
    r = subprocess.run([sys.executable, "-m", "steepest", "config"], cwd=tmp_path, env=environ,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "SIMD target in use : baseline" in r.stdout


def test_steepest_console_script_config(tmp_path):
    script = Path(sysconfig.get_path("scripts")) / ("steepest.exe" if os.name == "nt" else "steepest")
    if not script.exists():
        pytest.skip(f"the steepest console script is not installed at {script}")
    environ = {k: v for k, v in os.environ.items() if k != "STEEPEST_SIMD"}
    r = subprocess.run([str(script), "config"], cwd=tmp_path, env=environ,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    _check_config_output(r.stdout)


def test_steepest_command_usage_and_unknown_command(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k != "STEEPEST_SIMD"}
    r = subprocess.run([sys.executable, "-m", "steepest"], cwd=tmp_path, env=environ,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "steepest config" in r.stdout
    r = subprocess.run([sys.executable, "-m", "steepest", "frobnicate"], cwd=tmp_path,
                       env=environ, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_steepest_version(tmp_path, flag):
    r = subprocess.run([sys.executable, "-m", "steepest", flag], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"steepest {steepest.__version__}"


def test_version_is_the_distribution_version():
    """pyproject.toml reads the version from steepest/__init__.py: one source of truth."""
    import importlib.metadata as md

    try:
        installed = md.version("steepest")
    except md.PackageNotFoundError:
        pytest.skip("steepest runs from a source tree here, not an installed distribution")
    assert installed == steepest.__version__
