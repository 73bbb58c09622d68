"""``python -m dvk.ingest``: load the inbox now, with the settings of the environment."""

import json
import logging

from dvk.ingest import ingest_inbox

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
print(json.dumps(ingest_inbox().as_dict(), ensure_ascii=False, indent=2))
