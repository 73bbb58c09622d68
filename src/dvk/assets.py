"""Airflow assets shared by the DVK DAGs (light: imported at DAG-parse time)."""

from airflow.sdk import Asset

RAW_SUBMISSIONS = Asset(name="dvk_raw_submissions", uri="dvk://warehouse/raw")
MARTS = Asset(name="dvk_marts", uri="dvk://warehouse/marts")
ANNUAL_REPORTS = Asset(name="dvk_annual_reports", uri="dvk://reports/annual")
