{#-
    Gate dataset `model_measures` (expectations/model_measures.yml, warnings only): one row per
    (model line of each year's source submissions, measure), with the value, the unit's usual
    level of that measure (the upper quartile of its positive values over the models of every
    annual picture of the unit in the warehouse: fct_annual_unit_status's sources of all years),
    the ratio between them (only with at least `min_baseline_values` positive values), and the
    measure's plausible cap.

    The caps: the most a single model of one ward, commune or agency of the city can plausibly
    report, per measure (warning `value_within_plausible_cap`).
-#}
{%- set min_baseline_values = 5 -%}
{%- set caps = {
    'households': 10000,
    'funds_million_vnd': 50000,
    'labour_days': 50000,
    'land_m2': 50000,
} -%}
{#- households: more than those of a whole ward or commune; funds: 50 billion đồng (larger
    figures are usually written in đồng); land: 5 ha -#}
{%- set measures = ['households', 'funds_million_vnd', 'labour_days', 'land_m2'] -%}

with statuses as (
    select * from {{ ref('fct_annual_unit_status') }}
),

sources as (
    select * from {{ ref('fct_annual_unit_source') }}
),

raw_lines as (
    select * from {{ source('raw', 'submission_models') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

all_sources as (
    -- every year's source submissions: the unit's models, once a year
    select distinct unit_code, source_submission_id
    from statuses
    where source_submission_id is not null
),

measure_values as (
    -- the model lines unpivoted once: one row per (line, measure) with a value
    {%- for measure in measures %}
    select
        submission_id,
        line_no,
        field_code,
        source_sheet,
        source_row,
        model_name,
        '{{ measure }}' as measure,
        {{ loop.index0 }} as measure_sort,
        cast({{ measure }} as double precision) as value
    from raw_lines
    where {{ measure }} is not null
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

history as (
    select
        all_sources.unit_code,
        measure_values.measure,
        measure_values.value
    from all_sources
    inner join measure_values on all_sources.source_submission_id = measure_values.submission_id
),

baseline as (
    select
        unit_code,
        measure,
        count(*) filter (where value > 0) as n,
        {{ quantile_75('value') }} filter (where value > 0) as q3
    from history
    group by unit_code, measure
),

lines as (
    select
        sources.year,
        sources.unit_key,
        sources.unit_code,
        sources.source_period_id as period_id,
        measure_values.field_code,
        measure_values.submission_id,
        measure_values.line_no,
        measure_values.source_sheet,
        measure_values.source_row,
        measure_values.model_name,
        measure_values.measure,
        measure_values.measure_sort,
        measure_values.value
    from sources
    inner join measure_values on sources.source_submission_id = measure_values.submission_id
),

rated as (
    select
        lines.*,
        baseline.q3 as unit_usual,
        cast(coalesce(baseline.n, 0) as bigint) as unit_values,
        case
            when baseline.n >= {{ min_baseline_values }} and baseline.q3 > 0 and lines.value > 0
                then lines.value / baseline.q3
        end as times_unit_usual
    from lines
    left join baseline
        on lines.unit_code = baseline.unit_code
        and lines.measure = baseline.measure
),

final as (
    select
        rated.year,
        rated.unit_code,
        units.unit_name,
        rated.period_id,
        rated.field_code,
        rated.submission_id,
        rated.line_no,
        rated.source_sheet,
        rated.source_row,
        rated.model_name,
        rated.measure,
        {{ figure_label('rated.measure', 'vi') }} as measure_vi,
        {{ figure_label('rated.measure', 'en') }} as measure_en,
        rated.value,
        cast(case rated.measure
            {%- for measure, cap in caps.items() %}
            when '{{ measure }}' then {{ cap }}
            {%- endfor %}
        end as double precision) as cap,
        {{ round_float('rated.unit_usual', 2) }} as unit_usual,
        rated.unit_values,
        rated.times_unit_usual,
        {{ round_float('rated.times_unit_usual', 1) }} as times_unit_usual_rounded,
        rated.measure_sort
    from rated
    left join units on rated.unit_key = units.unit_key
)

select * from final
