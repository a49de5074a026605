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


def describe():
    config = steepest.show_config(mode="dicts")
    return {
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "steepest": config["version"],
        "simd": config["simd"]["active"],
        "simd_compiled": config["simd"]["compiled"],
        "threads": config["threads"],
        "compiler": config["compiler"],
    }
