{#-
    Gate dataset `submission_totals` (expectations/submission_totals.yml): the declared
    ("Tổng hợp") vs the computed (model lines) totals of every accepted submission, one row per
    (submission, field row), from fct_submission_totals_check. `year`: the submission's period
    year. Blanks count 0 (a blank cell on a declared row means none), so the comparisons never
    see NULLs; `row_scope` tells field rows, the "Tổng cộng" row and a missing "Tổng cộng" row
    apart.
-#}

with totals as (
    select * from {{ ref('fct_submission_totals_check') }}
),

submissions as (
    select * from {{ ref('fct_submission') }}
),

units as (
    select * from {{ ref('dim_reporting_unit') }}
),

fields as (
    select * from {{ ref('dim_field') }}
),

final as (
    select
        submissions.period_year as year,
        totals.submission_id,
        totals.unit_code,
        units.unit_name,
        totals.period_id,
        totals.field_code,
        case
            when totals.field_code <> 'TOTAL' then 'field'
            when totals.declared_total is null and totals.declared_new is null
                and totals.declared_replicated is null then 'total_not_declared'
            else 'total'
        end as row_scope,
        cast(coalesce(totals.declared_total, 0) as bigint) as declared_total,
        cast(coalesce(totals.declared_new, 0) as bigint) as declared_new,
        cast(coalesce(totals.declared_replicated, 0) as bigint) as declared_replicated,
        cast(coalesce(totals.declared_new, 0) + coalesce(totals.declared_replicated, 0) as bigint)
            as declared_new_plus_replicated,
        cast(coalesce(totals.computed_total, 0) as bigint) as computed_total,
        cast(coalesce(totals.computed_new, 0) as bigint) as computed_new,
        cast(coalesce(totals.computed_replicated, 0) as bigint) as computed_replicated,
        cast(coalesce(totals.computed_new, 0) + coalesce(totals.computed_replicated, 0) as bigint)
            as computed_new_plus_replicated,
        cast(coalesce(totals.fields_sum_total, 0) as bigint) as fields_sum_total,
        cast(coalesce(totals.fields_sum_new, 0) as bigint) as fields_sum_new,
        cast(coalesce(totals.fields_sum_replicated, 0) as bigint) as fields_sum_replicated,
        cast(totals.declared_funds as double precision) as declared_funds,
        {{ round_float('coalesce(totals.computed_funds, 0)', 4) }} as computed_funds,
        {{ round_float('abs(totals.declared_funds - coalesce(totals.computed_funds, 0))', 6) }}
            as funds_difference,
        {{ field_sort('totals.field_code', 'fields.sort_order') }} as field_sort
    from totals
    inner join submissions on totals.submission_id = submissions.submission_id
    left join units on totals.unit_key = units.unit_key
    left join fields on totals.field_code = fields.field_code
    where submissions.is_accepted
)

select * from final
