"""The raw contract is declared once (``dvk.contract.RAW_TABLES``): dbt's sources, the docs, the
transform and the tests' hand-made raw dataset follow it."""

from __future__ import annotations

import re

import duckdb
import yaml

from dvk import contract, transform
from dvk.settings import DBT_PROJECT_DIR, PROJECT_ROOT

SOURCES = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"


def test_dbt_sources_list_exactly_the_contract_tables_and_columns_in_order():
    sources = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["sources"]
    raw = next(s for s in sources if s["name"] == "raw")
    assert raw.get("schema", "raw") == "raw"
    declared = {t["name"]: [c["name"] for c in t.get("columns") or []] for t in raw["tables"]}
    expected = {table: [c for c, _ in cols] for table, cols in contract.RAW_TABLES.items()}
    assert declared == expected


def test_the_architecture_doc_describes_every_contract_table_and_column():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text[text.index("## Raw tables"):]
    section = section[:section.index("\n## ", 1)]
    starts = [(m.group(1), m.start()) for m in re.finditer(r"^`raw\.(\w+)` —", section, re.MULTILINE)]
    assert [t for t, _ in starts] == list(contract.RAW_TABLES), "one paragraph a table, in the contract's order"
    for i, (table, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(section)
        words = set(re.findall(r"[a-z_0-9]+", section[start:end]))
        missing = [c for c, _ in contract.RAW_TABLES[table] if c not in words]
        assert not missing, f"docs/architecture.md does not describe raw.{table}: {missing}"


def test_the_transform_reads_the_contract_tables():
    assert set(transform.RAW_TABLES) | set(contract.NOT_READ_BY_DBT) == set(contract.RAW_TABLES)
    assert set(transform.RAW_TABLES) <= set(contract.RAW_TABLES)


def test_the_ddl_creates_the_contract_as_duckdb_reports_it(tmp_path):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        con.execute(contract.ddl())
        got = con.execute("select table_name, column_name, data_type from duckdb_columns() "
                          "where schema_name = 'raw' order by table_name, column_index").fetchall()
    finally:
        con.close()
    assert got == [(t, c, d) for t, cols in sorted(contract.RAW_TABLES.items()) for c, d in cols]


def test_the_parsed_lines_fields_are_in_the_raw_tables_order():
    """dvk.ingest.warehouse writes a line's fields as they come (``MODEL_LINE_VALUES``) after the
    submission id (and the line number): the dataclasses and the contract must agree on the order."""
    from dvk.contract import RAW_TABLES
    from dvk.ingest.form import DeclaredTotal, ModelLine

    assert [c for c, _ in RAW_TABLES["submission_models"]] == ["submission_id", "line_no",
                                                               *ModelLine.__dataclass_fields__]
    assert [c for c, _ in RAW_TABLES["submission_declared_totals"]] == ["submission_id",
                                                                        *DeclaredTotal.__dataclass_fields__]
