{#-
    One row per model line of each accepted submission (superseded versions are left out), with
    a stable identity for the model across the unit's reports of the year (`model_key`: md5 of
    unit, year and the folded name) and the first period of the year that lists it.

    Incremental (delete+insert by (unit_code, period_year)). The partition of a line is its
    unit-year, because a line's acceptance (corrections) and its first_period_id depend on every
    submission of the unit in that year. An incremental run takes the unit-years with a
    submission loaded after the last run (loaded_at later than the largest `unit_year_loaded_at`
    already in the table, or unknown), recomputes all of their accepted lines, and replaces those
    unit-years; the other unit-years are left as they are. The post-hook removes the lines of
    any submission that is no longer accepted, which also empties a unit-year whose newest
    correction has no line at all (a partition with nothing to insert); it is written with `not
    exists` (an anti-join on both engines), not `not in (subquery)`, which PostgreSQL runs as one
    scan of the subquery per row once the subquery outgrows work_mem (at national scale, 1.75
    million lines, it ran for more than 14 minutes before it was stopped). A full refresh
    (`dbt build --full-refresh`) gives the same table; it is needed after a change to this SQL.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['unit_code', 'period_year'],
        on_schema_change='sync_all_columns',
        post_hook=[
            "delete from {{ this }} as target where not exists (select 1 from {{ ref('int_submissions_versioned') }} as accepted where accepted.is_accepted and accepted.submission_id = target.submission_id)"
        ]
    )
}}

with submissions as (
    select * from {{ ref('int_submissions_versioned') }}
),

unit_years as (
    select
        unit_code,
        period_year,
        max(loaded_at) as unit_year_loaded_at
    from submissions
    group by unit_code, period_year
),

{% if is_incremental() %}
{#- A table built before the watermark column existed (an older version of this model) has no
    unit_year_loaded_at: recompute every unit-year once; on_schema_change adds the new columns.
    In a dbt unit test `this` is the name of the mocked input, not a table: nothing to inspect. -#}
{%- if this is string -%}
    {%- set existing_columns = [] -%}
{%- else -%}
    {%- set existing_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
{%- endif -%}
watermark as (
    {% if existing_columns | length == 0 or 'unit_year_loaded_at' in existing_columns -%}
    select coalesce(max(unit_year_loaded_at), cast('1900-01-01' as timestamp)) as loaded_until
    from {{ this }}
    {%- else -%}
    select cast('1900-01-01' as timestamp) as loaded_until
    {%- endif %}
),

touched as (
    select distinct submissions.unit_code, submissions.period_year
    from submissions
    cross join watermark
    where submissions.loaded_at is null
        or submissions.loaded_at > watermark.loaded_until
),
{% endif %}

accepted as (
    select submissions.*
    from submissions
    {% if is_incremental() %}
    inner join touched
        on submissions.unit_code = touched.unit_code
        and submissions.period_year = touched.period_year
    {% endif %}
    where submissions.is_accepted
),

periods as (
    select period_id, period_sort_key
    from {{ ref('int_periods') }}
),

model_lines as (
    select * from {{ ref('stg_raw__submission_models') }}
),

keyed as (
    select
        model_lines.model_line_id,
        model_lines.submission_id,
        accepted.unit_code,
        accepted.unit_key,
        accepted.period_id,
        accepted.period_kind,
        accepted.period_year,
        model_lines.line_no,
        model_lines.model_name,
        model_lines.field_code,
        model_lines.model_kind,
        model_lines.registered_on,
        model_lines.recognition_level,
        model_lines.households,
        model_lines.funds_million_vnd,
        model_lines.labour_days,
        model_lines.land_m2,
        model_lines.note,
        {{ fold_text('model_lines.model_name') }} as model_name_key,
        accepted.loaded_at,
        periods.period_sort_key
    from model_lines
    inner join accepted on model_lines.submission_id = accepted.submission_id
    left join periods on accepted.period_id = periods.period_id
),

identified as (
    select
        *,
        md5(unit_code || '|' || cast(period_year as varchar) || '|' || model_name_key) as model_key
    from keyed
),

final as (
    select
        identified.model_line_id,
        identified.submission_id,
        identified.unit_code,
        identified.period_id,
        identified.period_kind,
        identified.period_year,
        identified.line_no,
        identified.model_name,
        identified.field_code,
        identified.model_kind,
        identified.registered_on,
        identified.recognition_level,
        identified.households,
        identified.funds_million_vnd,
        identified.labour_days,
        identified.land_m2,
        identified.note,
        identified.model_key,
        identified.model_name_key,
        {{ arg_min_over('identified.period_id', 'identified.period_sort_key || identified.period_id',
            'identified.model_key') }} as first_period_id,
        identified.loaded_at,
        unit_years.unit_year_loaded_at,
        identified.unit_key
    from identified
    inner join unit_years
        on identified.unit_code = unit_years.unit_code
        and identified.period_year = unit_years.period_year
)

select * from final
