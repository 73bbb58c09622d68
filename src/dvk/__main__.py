"""``python -m dvk …``: the operators' command line (see :mod:`dvk.cli`)."""

import sys

from dvk.cli import main

if __name__ == "__main__":
    sys.exit(main())
