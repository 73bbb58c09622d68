"""The submission forms of spec §3 (xlsx) and §4 (csv): typed submissions and deterministic writers.

Everything public lives in :mod:`dvk.forms.writer`; this package re-exports its ``__all__``.
"""

from dvk.forms import writer
from dvk.forms.writer import *  # noqa: F403 (the re-export is writer.__all__)

__all__ = list(writer.__all__)
