"""``python -m dvk.ingest``: load the inbox now, with the settings of the environment.

Prints the run's result as JSON. Exit status 0 when every file was loaded, skipped or quarantined
(a quarantine is a normal outcome); 1 when a file could not be written to the warehouse.
"""

import json
import logging
import sys

from dvk.ingest import IngestError, ingest_inbox


def main() -> int:
    from dvk.filemodes import apply_umask

    apply_umask()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        result, status = ingest_inbox(), 0
    except IngestError as exc:
        result, status = exc.result, 1
        logging.error("%s", exc)
    print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
