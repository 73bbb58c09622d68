-- Personal data (preparer name and phone) never leaves raw/staging.
-- depends_on: {{ ref('dim_reporting_unit') }}
-- depends_on: {{ ref('dim_reporting_unit_history') }}
-- depends_on: {{ ref('dim_reporting_unit_year') }}
-- depends_on: {{ ref('dim_field') }}
-- depends_on: {{ ref('dim_period') }}
-- depends_on: {{ ref('dim_date') }}
-- depends_on: {{ ref('fct_submission') }}
-- depends_on: {{ ref('fct_reporting_rate') }}
-- depends_on: {{ ref('fct_reporting_rate_unit') }}
-- depends_on: {{ ref('fct_model') }}
-- depends_on: {{ ref('fct_model_year') }}
-- depends_on: {{ ref('fct_unit_field_ytd') }}
-- depends_on: {{ ref('fct_annual_unit_status') }}
-- depends_on: {{ ref('fct_annual_unit_field') }}
-- depends_on: {{ ref('fct_submission_totals_check') }}
-- depends_on: {{ ref('snp_reporting_units') }}
select table_schema, table_name, column_name
from information_schema.columns
where table_schema in ('marts', 'intermediate', 'snapshots')
    and (lower(column_name) like 'preparer%' or lower(column_name) like '%phone%')
