"""The thread pool's split (csrc/runtime/pool.cc): each participant runs its home share of the
chunks, then steals from the back of the others'. Whoever runs a chunk, an update and a norm are
bitwise the same for any thread count. Here the parallel thresholds are lifted, so that steps
too small to be split in use (8K-16K elements: 2-4 chunks) are split, and 3 and 4 threads share
2 cores, so that participants are late and their shares stolen."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import steepest
from steepest import _core
from steepest.optim.registry import RULES as REGISTRY

# Every rule of the registry, in its first configuration with nontrivial options.
RULES = {rule.name: rule.configs[0] for rule in REGISTRY.values()}
SHAPES = [(12289,), (3,), (4097,)]  # 16389 elements: 5 chunks, cuts inside tensors
# Adafactor cuts each tensor on its own, factored ones into chunks of 32 rows: (3, 37, 301) has
# 4 (batches span chunks), (12289,) has 4.
SHAPES_OF = {"Adafactor": [(12289,), (3, 37, 301), (3,)]}


@pytest.fixture
def lifted():
    """Every loop of two or more chunks runs on the threads (the rules' thresholds lifted)."""
    _core._set_parallel_min_override(1)
    try:
        yield
    finally:
        _core._set_parallel_min_override(0)


def trajectory(rule, hyper, threads, steps=30):
    rng = np.random.default_rng(5)
    shapes = SHAPES_OF.get(rule, SHAPES)
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    opt = getattr(steepest.optim, rule)(params, **hyper)
    previous = steepest.get_num_threads()
    steepest.set_num_threads(threads)
    try:
        for _ in range(steps):
            opt.step([rng.standard_normal(s).astype(np.float32) for s in shapes])
    finally:
        steepest.set_num_threads(previous)
    return [p.tobytes() for p in params] + [
        v.tobytes() for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("rule", list(RULES))
def test_split_is_bitwise_the_same_for_any_thread_count(rule, lifted):
    one = trajectory(rule, RULES[rule], 1)
    for threads in (2, 3, 4):
        assert trajectory(rule, RULES[rule], threads) == one, f"{threads} threads"


def test_negative_override_is_refused():
    with pytest.raises(ValueError, match="must be >= 0"):
        _core._set_parallel_min_override(-1)


def default_threads(env=None, preexec_fn=None, prefix=()):
    """steepest.get_num_threads() in a fresh interpreter, without OMP_NUM_THREADS unless in env."""
    environ = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    environ.update(env or {})
    out = subprocess.run([*prefix, sys.executable, "-c",
                          "import steepest; print(steepest.get_num_threads())"],
                         env=environ, preexec_fn=preexec_fn, capture_output=True, text=True,
                         check=True, timeout=120)
    return int(out.stdout)


def one_cpu():
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def test_default_is_the_cpus_of_the_affinity_mask():
    assert default_threads(preexec_fn=one_cpu) == 1
    # OMP_NUM_THREADS, set by the user, still wins.
    assert default_threads({"OMP_NUM_THREADS": "3"}, preexec_fn=one_cpu) == 3


@pytest.mark.skipif(shutil.which("taskset") is None, reason="no taskset")
def test_default_under_taskset():
    cpu = str(min(os.sched_getaffinity(0)))
    assert default_threads(prefix=("taskset", "-c", cpu)) == 1


@pytest.mark.parametrize("files, cpus", [
    ({}, 0),  # no cgroup file system
    ({"cpu.max": "max 100000\n"}, 0),  # v2, no limit
    ({"cpu.max": "150000 100000\n"}, 2),  # v2, 1.5 CPUs: rounded up
    ({"cpu.max": "200000 100000\n"}, 2),
    ({"cpu.max": "1000 100000\n"}, 1),  # a hundredth of a CPU: still one thread
    ({"cpu.max": "12x 100000\n"}, 0),  # damaged
    ({"cpu.max": ""}, 0),
    ({"cpu.max": "max 100000\n", "cpu/cpu.cfs_quota_us": "100000\n",
      "cpu/cpu.cfs_period_us": "100000\n"}, 0),  # v2 present: v1 files are not its
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0),  # v1, no limit
    ({"cpu/cpu.cfs_quota_us": "250000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
    ({"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "50000\n"}, 1),
    ({"cpu/cpu.cfs_quota_us": "250000\n"}, 0),  # no period
    ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "0\n"}, 0),
])
def test_cgroup_cpu_limit(files, cpus, tmp_path):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _core._cgroup_cpu_limit(str(tmp_path)) == cpus
