"""What the benchmarks say about the machine they ran on: CPUs, memory, CPU model, versions, load."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version


def memory() -> str | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(packages: tuple[str, ...]) -> dict:
    """nproc, memory, cpu, os, python, the versions of ``packages``, and the load average."""
    return {"nproc": os.cpu_count(), "memory": memory(), "cpu": cpu_model(), "os": platform.platform(),
            "python": platform.python_version(), "versions": {p: version(p) for p in packages},
            "load_average": os.getloadavg()}
