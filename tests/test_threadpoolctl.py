"""threadpoolctl controls steepest's threads (python/steepest/_threadpool.py): threadpool_limits
applies to them, threadpool_info lists them, whichever of steepest and threadpoolctl is imported
first; and `import steepest` does not import threadpoolctl."""

import json
import os
import subprocess
import sys

import pytest

import steepest

threadpoolctl = pytest.importorskip("threadpoolctl")


def steepest_entries(info):
    return [i for i in info if i["user_api"] == "steepest"]


def test_limits_apply_and_are_restored():
    previous = steepest.get_num_threads()
    steepest.set_num_threads(3)
    try:
        with threadpoolctl.threadpool_limits(1):
            assert steepest.get_num_threads() == 1
        assert steepest.get_num_threads() == 3
        with threadpoolctl.threadpool_limits({"steepest": 2}):
            assert steepest.get_num_threads() == 2
        with threadpoolctl.threadpool_limits(1, user_api="blas"):  # not steepest's
            assert steepest.get_num_threads() == 3
        assert steepest.get_num_threads() == 3
    finally:
        steepest.set_num_threads(previous)


def test_info_lists_steepest():
    (entry,) = steepest_entries(threadpoolctl.threadpool_info())
    assert entry["internal_api"] == "steepest"
    assert entry["num_threads"] == steepest.get_num_threads()
    assert entry["version"] == steepest.__version__
    assert os.path.samefile(entry["filepath"], steepest._core.__file__)


SCRIPT = """
import json, sys
{imports}
from threadpoolctl import threadpool_info, threadpool_limits
steepest.set_num_threads(3)
with threadpool_limits(1):
    inside = steepest.get_num_threads()
print(json.dumps({{"inside": inside, "after": steepest.get_num_threads(),
                  "info": [i for i in threadpool_info() if i["user_api"] == "steepest"]}}))
"""


@pytest.mark.parametrize("imports", ["import steepest\nimport threadpoolctl",
                                     "import threadpoolctl\nimport steepest"],
                         ids=["steepest-first", "threadpoolctl-first"])
def test_either_import_order(imports):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(imports=imports)],
                         capture_output=True, text=True, check=True, timeout=120)
    result = json.loads(out.stdout)
    assert result["inside"] == 1 and result["after"] == 3
    assert len(result["info"]) == 1 and result["info"][0]["num_threads"] == 3


def test_import_steepest_does_not_import_threadpoolctl():
    out = subprocess.run([sys.executable, "-c",
                          "import sys, steepest; print('threadpoolctl' in sys.modules)"],
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
