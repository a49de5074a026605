"""Forked children step on their own, fresh thread pool (csrc/runtime/pool.cc, pthread_atfork).

A child has none of its parent's worker threads, only copies of the pool's mutexes and
condition variable in whatever state the parent's threads left them. Each test runs in a fresh
interpreter (whose pool has no worker yet), first runs a multi-threaded step there (so that its
pool has workers), then forks; the children step with the same, more and fewer threads, and
must give the parent's result, bitwise. Every child runs under a deadline, so that a child that
hangs fails the test instead of hanging the suite.
"""

import multiprocessing
import os
import signal
import threading
import time
import traceback

import numpy as np
import pytest

import steepest

DEADLINE = 60.0  # seconds for a child: a step takes milliseconds
# One tensor of 100K float32 elements: above every rule's threshold for splitting a step
# (csrc/runtime/parallel.h), 25 chunks.
SIZE = 100_000


def trajectory(threads, steps=3, seed=0):
    """Parameters and state after `steps` AdamW steps on `threads` threads, as bytes."""
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(SIZE).astype(np.float32)
    opt = steepest.optim.AdamW([p], lr=1e-2, weight_decay=1e-2)
    previous = steepest.get_num_threads()
    steepest.set_num_threads(threads)
    try:
        for _ in range(steps):
            opt.step([rng.standard_normal(SIZE).astype(np.float32)])
    finally:
        steepest.set_num_threads(previous)
    state = opt.state[0]
    return p.tobytes() + state["exp_avg"].tobytes() + state["exp_avg_sq"].tobytes()


def in_child(fn, out, idle=True):
    """Runs fn() in a forked child, which writes its bytes to the file `out`; fails the test if
    the child does not finish within DEADLINE (and kills it). With `idle` the parent's workers
    are asleep when it forks (they spin for 100 us after a step), waiting on the condition
    variable."""
    if idle:
        time.sleep(0.01)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            data = fn()
            with open(out, "wb") as f:
                f.write(data)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + DEADLINE
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child did not finish within {DEADLINE} s (it hangs)")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child failed"
    with open(out, "rb") as f:
        return f.read()


def run_fresh(scenario, *args):
    """Runs scenario(*args) in a fresh interpreter (whose pool has started no worker yet, unlike
    this one after other tests), under a deadline; fails if it fails or hangs."""
    process = multiprocessing.get_context("spawn").Process(target=scenario, args=args)
    process.start()
    process.join(3 * DEADLINE)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail(f"{scenario.__name__}{args} did not finish within {3 * DEADLINE} s (it hangs)")
    assert process.exitcode == 0, f"{scenario.__name__}{args} failed (its traceback is above)"


def fork_and_step(parent, child, tmp):
    expected = trajectory(parent)  # starts parent - 1 workers
    assert in_child(lambda: trajectory(child), tmp / "child") == expected
    assert trajectory(parent) == expected  # the parent's pool still works after the fork


@pytest.mark.parametrize("parent, child", [(2, 2), (2, 3), (3, 2), (3, 1), (1, 3)],
                         ids=["same", "more", "fewer", "one", "parent-one"])
def test_child_steps_like_the_parent(parent, child, tmp_path):
    run_fresh(fork_and_step, parent, child, tmp_path)


def fork_from_child(tmp):
    expected = trajectory(2)

    def child():
        trajectory(3)  # starts the child's own workers
        return in_child(lambda: trajectory(4), tmp / "grandchild")

    assert in_child(child, tmp / "child") == expected


def test_grandchild(tmp_path):
    """A child's pool, started after the fork, is reset again when the child forks."""
    run_fresh(fork_from_child, tmp_path)


def fork_while_another_thread_steps(tmp):
    expected = trajectory(1)
    stop = threading.Event()
    steps = [0]

    def stepper():
        rng = np.random.default_rng(1)
        p = rng.standard_normal(SIZE).astype(np.float32)
        opt = steepest.optim.AdamW([p], lr=1e-3)
        g = rng.standard_normal(SIZE).astype(np.float32)
        while not stop.is_set():
            opt.step([g])  # releases the GIL: runs while the main thread forks
            steps[0] += 1

    steepest.set_num_threads(2)
    thread = threading.Thread(target=stepper)
    thread.start()
    try:
        for k in range(20):
            while steps[0] <= k:  # at least one step between two forks
                time.sleep(0.001)
            threads = (3, 2, 1)[k % 3]
            assert in_child(lambda: trajectory(threads), tmp / f"child{k}", idle=False) == expected
    finally:
        stop.set()
        thread.join()


def test_fork_while_another_thread_steps(tmp_path):
    """Forks while a thread of the parent is in the middle of multi-threaded steps: the pool's
    mutexes may be held, its workers claiming chunks, in the copy the child gets."""
    run_fresh(fork_while_another_thread_steps, tmp_path)


def pool_worker(threads):
    return trajectory(threads)


def fork_pool():
    expected = trajectory(2)
    time.sleep(0.01)  # the parent's worker sleeps
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map_async(pool_worker, [3, 2, 1, 3, 2, 1]).get(timeout=DEADLINE)
    assert results == [expected] * 6


def test_multiprocessing_fork_pool():
    run_fresh(fork_pool)


class SteppingDataset:
    """A map-style dataset whose items are the result of steps (torch.utils.data accepts any
    object with __getitem__ and __len__)."""

    def __getitem__(self, i):
        return np.frombuffer(trajectory((3, 2, 1)[i % 3]), np.uint8)

    def __len__(self):
        return 6


def dataloader():
    import torch

    expected = np.frombuffer(trajectory(2), np.uint8)  # the parent's worker runs
    loader = torch.utils.data.DataLoader(SteppingDataset(), batch_size=None, num_workers=2,
                                         multiprocessing_context="fork", timeout=DEADLINE)
    items = list(loader)
    assert len(items) == 6
    for item in items:
        assert np.array_equal(item.numpy(), expected)


def test_dataloader_workers_step():
    pytest.importorskip("torch")
    run_fresh(dataloader)
