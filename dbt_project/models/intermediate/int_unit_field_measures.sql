{#-
    The seven figures of every accepted submission per field (spec section 2): models (total,
    new, replicated) and the four additive measures, counted once from the submission's model
    lines. One row per (submission_id, field_code) with at least one model. Additive measures are
    0 when no line states them (exact_sum: order-independent sums of the decimals). Both
    fct_unit_field_ytd (every accepted submission) and fct_annual_unit_field (the year's source
    submissions) are built from it.
-#}

with accepted as (
    select submission_id
    from {{ ref('int_submissions_versioned') }}
    where is_accepted
),

model_lines as (
    select * from {{ ref('stg_raw__submission_models') }}
),

final as (
    select
        model_lines.submission_id,
        model_lines.field_code,
        cast(count(*) as bigint) as models_total,
        cast(count(*) filter (where model_lines.model_kind = 'new') as bigint) as models_new,
        cast(count(*) filter (where model_lines.model_kind = 'replicated') as bigint) as models_replicated,
        cast(coalesce(sum(model_lines.households), 0) as bigint) as households,
        cast(coalesce({{ exact_sum('model_lines.funds_million_vnd') }}, 0) as double precision)
            as funds_million_vnd,
        cast(coalesce(sum(model_lines.labour_days), 0) as bigint) as labour_days,
        cast(coalesce({{ exact_sum('model_lines.land_m2') }}, 0) as double precision) as land_m2
    from model_lines
    inner join accepted on model_lines.submission_id = accepted.submission_id
    group by model_lines.submission_id, model_lines.field_code
)

select * from final
