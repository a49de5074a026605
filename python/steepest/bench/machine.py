"""A description of the machine a benchmark ran on, stored beside its results."""

import os
import platform

import numpy as np

import steepest


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def caches():
    """{"L1d": "48K", "L2": "2048K", ...} of the first CPU, per core unless shared (Linux; empty
    elsewhere): which sizes of a benchmark live in which cache."""
    found = {}
    root = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(root)):
            def read(name):
                with open(os.path.join(root, index, name)) as f:
                    return f.read().strip()
            kind = read("type")
            if kind == "Instruction":
                continue
            found[f"L{read('level')}" + ("d" if kind == "Data" else "")] = read("size")
    except OSError:
        pass
    return found


def describe():
    config = steepest.show_config(mode="dicts")
    return {
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "caches": caches(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "steepest": config["version"],
        "simd": config["simd"]["active"],
        "simd_compiled": config["simd"]["compiled"],
        "threads": config["threads"],
        "compiler": config["compiler"],
    }
