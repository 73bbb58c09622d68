"""Every data check of the dbt project, one line per (node, column, check), read from dbt's
``manifest.json``: whether a check is its own test node (dbt's ``not_null``, ``unique``,
``accepted_values``, ``relationships``, the project's ``unique_combination_of_columns``,
``expression_is_true``, ``columns_not_null``, ``validity_does_not_overlap``) or one of the many a
model's ``checks`` test makes in one query (dbt_project/tests/generic/checks.sql), it lists the
same line. tests/test_dbt_checks.py compares the list with the committed
tests/data/dbt_checks.txt, so that no check is dropped unseen.

    .venv/bin/python -m tests.support.dbt_checks .local/warehouse/dbt_target/manifest.json \
        > tests/data/dbt_checks.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

#: ``{{ get_where_subquery(ref('x')) }}`` / ``source('raw', 'loads')`` → x / raw.loads
_MODEL = re.compile(r"""(?:ref|source)\(\s*((?:'[^']*'\s*,?\s*)+)\)""")


def _relation(text: str) -> str:
    found = _MODEL.search(str(text))
    if not found:
        return str(text)
    return ".".join(re.findall(r"'([^']*)'", found.group(1)))


def _squash(text: str) -> str:
    return " ".join(str(text).split())


def _suffix(where: str | None, severity: str) -> str:
    out = f" where {_squash(where)}" if where else ""
    return out + (" [warn]" if severity.lower() == "warn" else "")


def _accepted(values: Any, quote: bool = True) -> str:
    shown = [repr(str(v)) if quote else str(v) for v in values]
    return f"accepted_values [{', '.join(shown)}]"


def _checks_of_checks_test(kwargs: dict[str, Any], suffix: str) -> list[tuple[str, str]]:
    """The (column, check) pairs of one ``checks`` test (its arguments as written)."""
    out: list[tuple[str, str]] = []
    for column in kwargs.get("not_null") or []:
        out.append((column, "not_null" + suffix))
    for column in kwargs.get("unique") or []:
        out.append((column, "unique" + suffix))
    for column, spec in (kwargs.get("accepted_values") or {}).items():
        if isinstance(spec, dict):
            out.append((column, _accepted(spec["values"], spec.get("quote", True)) + suffix))
        else:
            out.append((column, _accepted(spec) + suffix))
    for column, specs in (kwargs.get("relationships") or {}).items():
        for spec in specs if isinstance(specs, list) else [specs]:
            where = _suffix(spec.get("where"), "") + suffix
            out.append((column, f"relationships {_relation(spec['to'])}.{spec['field']}{where}"))
    for columns in kwargs.get("unique_combinations") or []:
        out.append((", ".join(columns), "unique_combination" + suffix))
    for spec in kwargs.get("expressions") or []:
        if isinstance(spec, dict):
            out.append(("", f"expression {_squash(spec['expression'])}{_suffix(spec.get('where'), '')}{suffix}"))
        else:
            out.append(("", f"expression {_squash(spec)}{suffix}"))
    for spec in kwargs.get("validity_does_not_overlap") or []:
        out.append((spec["key_column"],
                     f"validity_does_not_overlap {spec['from_column']}..{spec['to_column']}{suffix}"))
    return out


def checks_of_test(node: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The (node, column, check) lines one test node of the manifest makes."""
    meta = node.get("test_metadata")
    config = node.get("config") or {}
    suffix = _suffix(config.get("where"), str(config.get("severity") or "error"))
    if not meta:  # a singular test: one check, on the nodes it reads
        parents = ", ".join(sorted(p.split(".")[-1] for p in node["depends_on"]["nodes"]))
        return [(parents, "", f"singular {node['name']}{suffix}")]
    name, kwargs = meta["name"], meta.get("kwargs") or {}
    target = _relation(kwargs.get("model", ""))
    column = kwargs.get("column_name") or ""
    if name == "checks":
        pairs = _checks_of_checks_test(kwargs, suffix)
    elif name in ("not_null", "unique"):
        pairs = [(column, name + suffix)]
    elif name == "accepted_values":
        pairs = [(column, _accepted(kwargs["values"], kwargs.get("quote", True)) + suffix)]
    elif name == "relationships":
        pairs = [(column, f"relationships {_relation(kwargs['to'])}.{kwargs['field']}{suffix}")]
    elif name == "columns_not_null":
        pairs = [(c, "not_null" + suffix) for c in kwargs["columns"]]
    elif name == "unique_combination_of_columns":
        pairs = [(", ".join(kwargs["combination_of_columns"]), "unique_combination" + suffix)]
    elif name == "expression_is_true":
        pairs = [("", f"expression {_squash(kwargs['expression'])}{suffix}")]
    elif name == "validity_does_not_overlap":
        pairs = [(kwargs["key_column"], f"validity_does_not_overlap {kwargs['from_column']}..{kwargs['to_column']}{suffix}")]
    else:
        pairs = [(column, f"{name} {sorted((k, str(v)) for k, v in kwargs.items() if k != 'model')}{suffix}")]
    return [(target, c, check) for c, check in pairs]


def manifest_checks(manifest: dict[str, Any]) -> list[str]:
    """Every check of the manifest's data tests, ``node | column | check``, sorted, each once
    (a column checked twice for the same thing counts once)."""
    lines: set[str] = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        for target, column, check in checks_of_test(node):
            lines.add(f"{target} | {column} | {check}")
    return sorted(lines)


def test_nodes(manifest: dict[str, Any]) -> int:
    """How many data test nodes the manifest has."""
    return sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "test")


HEADER = """\
# Every data check of the dbt project, `node | column | check`, one a line (tests/test_dbt_checks.py
# compares it with the manifest: a check dropped from dbt_project/ fails the test). Regenerate after
# adding or changing a check, and review the diff:
#   .venv/bin/python -m tests.support.dbt_checks <dbt target>/manifest.json > tests/data/dbt_checks.txt
"""


def main(argv: list[str]) -> int:
    import json

    manifest = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    lines = manifest_checks(manifest)
    print(HEADER + "\n".join(lines))
    print(f"# {len(lines)} checks in {test_nodes(manifest)} test nodes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
