"""The project's scripts that are not package modules (``demo/generate.py``, ``bench/synth.py``),
loaded by path for the tests that use their data or their expected figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def load_script(relative_path: str, name: str | None = None) -> ModuleType:
    """Execute ``PROJECT_ROOT/relative_path`` as a fresh module and return it."""
    name = name or "dvk_script_" + relative_path.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / relative_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def demo_generator() -> ModuleType:
    """``demo/generate.py``: the demo inbox's generator and its ``EXPECTED_FIGURES``."""
    return load_script("demo/generate.py")


def synth() -> ModuleType:
    """``bench/synth.py``: the synthetic deployments of the benchmarks."""
    return load_script("bench/synth.py")
