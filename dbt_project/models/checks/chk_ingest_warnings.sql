{#-
    What the ingest recorded in raw.submission_warnings (a column with data whose header the form
    does not know) for the accepted submissions, per year of their period: the gate lists each
    row among its warnings (check `ingest_warning`, never blocking; no suite validates it).
    A warehouse loaded before the table existed gets an empty view until its next ingest.
-#}
{%- set warnings_relation = none -%}
{%- if execute -%}
    {%- set warnings_relation = load_relation(source('raw', 'submission_warnings')) -%}
{%- endif %}

with submissions as (
    select * from {{ ref('fct_submission') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

{% if warnings_relation is not none -%}
ingest_warnings as (
    select * from {{ source('raw', 'submission_warnings') }}
),
{%- else -%}
ingest_warnings as (
    select
        cast(null as {{ dbt.type_string() }}) as submission_id,
        cast(null as {{ dbt.type_string() }}) as file_name,
        cast(null as integer) as warning_no,
        cast(null as {{ dbt.type_string() }}) as sheet,
        cast(null as integer) as "row",
        cast(null as {{ dbt.type_string() }}) as "column",
        cast(null as {{ dbt.type_string() }}) as code,
        cast(null as {{ dbt.type_string() }}) as message_vi,
        cast(null as {{ dbt.type_string() }}) as message_en
    where 1 = 0
),
{%- endif %}

final as (
    select
        submissions.period_year as year,
        submissions.submission_id,
        submissions.unit_code,
        units.unit_name,
        submissions.period_id,
        ingest_warnings.file_name,
        ingest_warnings.sheet,
        ingest_warnings."row",
        ingest_warnings."column",
        ingest_warnings.code,
        ingest_warnings.message_vi,
        ingest_warnings.message_en,
        ingest_warnings.warning_no
    from ingest_warnings
    inner join submissions on ingest_warnings.submission_id = submissions.submission_id
    left join units on submissions.unit_key = units.unit_key
    where submissions.is_accepted
)

select * from final
