{#-
    Gate dataset `reconciliation` (expectations/reconciliation.yml): fct_annual_unit_field vs a
    recount from raw.submission_models of each unit's source submissions
    (fct_annual_unit_source), one row per (year, unit, field, source submission, figure). A
    (unit, field) present on one side only counts 0 on the other; decimals are rounded to 4
    places on both sides. A unit counted from its predecessors (rule 3) has several sources and
    is matched per source submission.
-#}

with sources as (
    select * from {{ ref('fct_annual_unit_source') }}
),

raw_lines as (
    select * from {{ source('raw', 'submission_models') }}
),

annual as (
    select * from {{ ref('fct_annual_unit_field') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

fields as (
    select * from {{ ref('dim_field') }}
),

recount as (
    select
        sources.year,
        sources.unit_key,
        sources.unit_code,
        raw_lines.field_code,
        sources.source_submission_id,
        sources.source_period_id,
        count(*) as models_total,
        count(*) filter (where raw_lines.model_kind = 'new') as models_new,
        count(*) filter (where raw_lines.model_kind = 'replicated') as models_replicated,
        coalesce(sum(raw_lines.households), 0) as households,
        coalesce(sum(raw_lines.funds_million_vnd), 0) as funds_million_vnd,
        coalesce(sum(raw_lines.labour_days), 0) as labour_days,
        coalesce(sum(raw_lines.land_m2), 0) as land_m2
    from sources
    inner join raw_lines on sources.source_submission_id = raw_lines.submission_id
    group by
        sources.year, sources.unit_key, sources.unit_code, raw_lines.field_code,
        sources.source_submission_id, sources.source_period_id
),

unit_sources as (
    -- one per unit, unless counted from its predecessors (rule 3)
    select year, unit_code, count(*) as sources_n
    from sources
    group by year, unit_code
),

mart as (
    select
        annual.*,
        coalesce(unit_sources.sources_n, 1) as sources_n
    from annual
    left join unit_sources
        on annual.year = unit_sources.year
        and annual.unit_code = unit_sources.unit_code
),

joined as (
    select
        coalesce(mart.year, recount.year) as year,
        coalesce(mart.unit_key, recount.unit_key) as unit_key,
        coalesce(mart.unit_code, recount.unit_code) as unit_code,
        coalesce(mart.source_period_id, recount.source_period_id) as period_id,
        coalesce(mart.field_code, recount.field_code) as field_code,
        coalesce(recount.source_submission_id, mart.source_submission_id) as submission_id,
        {%- for figure in figures() %}
        mart.{{ figure }} as mart_{{ figure }},
        recount.{{ figure }} as raw_{{ figure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from mart
    full outer join recount
        on mart.year = recount.year
        and mart.unit_code = recount.unit_code
        and mart.field_code = recount.field_code
        and (mart.sources_n = 1 or mart.source_submission_id = recount.source_submission_id)
),

{%- set mart_case -%}
    coalesce(case figure_names.figure
        {%- for figure in figures() %} when '{{ figure }}' then joined.mart_{{ figure }}{% endfor %} end, 0)
{%- endset -%}
{%- set raw_case -%}
    coalesce(case figure_names.figure
        {%- for figure in figures() %} when '{{ figure }}' then joined.raw_{{ figure }}{% endfor %} end, 0)
{%- endset %}

figure_names as (
    {%- for figure in figures() %}
    select '{{ figure }}' as figure, {{ loop.index0 }} as figure_sort
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

by_figure as (
    -- one row per figure
    select
        joined.year,
        joined.unit_key,
        joined.unit_code,
        joined.period_id,
        joined.field_code,
        joined.submission_id,
        figure_names.figure,
        figure_names.figure_sort,
        {{ round_float(mart_case, 4) }} as mart_value,
        {{ round_float(raw_case, 4) }} as raw_value
    from joined
    cross join figure_names
),

final as (
    select
        by_figure.year,
        by_figure.unit_code,
        units.unit_name,
        by_figure.period_id,
        by_figure.field_code,
        by_figure.submission_id,
        by_figure.figure,
        {{ figure_label('by_figure.figure', 'vi') }} as figure_vi,
        {{ figure_label('by_figure.figure', 'en') }} as figure_en,
        by_figure.mart_value,
        by_figure.raw_value,
        {{ field_sort('by_figure.field_code', 'fields.sort_order') }} as field_sort,
        by_figure.figure_sort
    from by_figure
    left join units on by_figure.unit_key = units.unit_key
    left join fields on by_figure.field_code = fields.field_code
)

select * from final
