{#-
    Declared (`Tổng hợp` sheet) vs computed (model lines) totals of each accepted submission that
    has declared totals (spec sections 3 and 6). One row per (submission, field) for every field
    that is declared or has model lines, plus one `TOTAL` row per submission. Declared values stay
    null where the unit left them blank or left the row out; computed values are 0 when there are
    no lines. `fields_sum_*` (TOTAL rows only) is the sum of the declared field rows.
-#}

with submissions as (
    select * from {{ ref('int_submissions_versioned') }}
    where is_accepted and has_declared_totals
),

model_lines as (
    select lines.*
    from {{ ref('stg_raw__submission_models') }} as lines
    inner join submissions on lines.submission_id = submissions.submission_id
),

declared_lines as (
    select declared.*
    from {{ ref('stg_raw__submission_declared_totals') }} as declared
    inner join submissions on declared.submission_id = submissions.submission_id
),

declared as (
    select
        submission_id,
        field_code,
        sum(models_total) as declared_total,
        sum(models_new) as declared_new,
        sum(models_replicated) as declared_replicated,
        {{ exact_sum('funds_million_vnd') }} as declared_funds
    from declared_lines
    group by submission_id, field_code
),

computed_by_field as (
    select
        submission_id,
        field_code,
        count(*) as computed_total,
        count(*) filter (where model_kind = 'new') as computed_new,
        count(*) filter (where model_kind = 'replicated') as computed_replicated,
        coalesce({{ exact_sum('funds_million_vnd') }}, 0) as computed_funds
    from model_lines
    group by submission_id, field_code
),

computed_overall as (
    select
        submission_id,
        'TOTAL' as field_code,
        count(*) as computed_total,
        count(*) filter (where model_kind = 'new') as computed_new,
        count(*) filter (where model_kind = 'replicated') as computed_replicated,
        coalesce({{ exact_sum('funds_million_vnd') }}, 0) as computed_funds
    from model_lines
    group by submission_id
),

computed as (
    select * from computed_by_field
    union all
    select * from computed_overall
),

declared_fields_sum as (
    select
        submission_id,
        sum(declared_total) as fields_sum_total,
        sum(declared_new) as fields_sum_new,
        sum(declared_replicated) as fields_sum_replicated
    from declared
    where field_code <> 'TOTAL'
    group by submission_id
),

grid as (
    select submission_id, field_code from declared
    union
    select submission_id, field_code from computed_by_field
    union
    select submission_id, 'TOTAL' as field_code from submissions
),

final as (
    select
        grid.submission_id,
        grid.field_code,
        submissions.unit_code,
        submissions.unit_key,
        submissions.period_id,
        cast(declared.declared_total as bigint) as declared_total,
        cast(declared.declared_new as bigint) as declared_new,
        cast(declared.declared_replicated as bigint) as declared_replicated,
        cast(coalesce(computed.computed_total, 0) as bigint) as computed_total,
        cast(coalesce(computed.computed_new, 0) as bigint) as computed_new,
        cast(coalesce(computed.computed_replicated, 0) as bigint) as computed_replicated,
        cast(declared.declared_funds as double precision) as declared_funds,
        cast(coalesce(computed.computed_funds, 0) as double precision) as computed_funds,
        cast(case when grid.field_code = 'TOTAL' then declared_fields_sum.fields_sum_total end as bigint)
            as fields_sum_total,
        cast(case when grid.field_code = 'TOTAL' then declared_fields_sum.fields_sum_new end as bigint)
            as fields_sum_new,
        cast(case when grid.field_code = 'TOTAL' then declared_fields_sum.fields_sum_replicated end as bigint)
            as fields_sum_replicated
    from grid
    inner join submissions on grid.submission_id = submissions.submission_id
    left join declared
        on grid.submission_id = declared.submission_id and grid.field_code = declared.field_code
    left join computed
        on grid.submission_id = computed.submission_id and grid.field_code = computed.field_code
    left join declared_fields_sum on grid.submission_id = declared_fields_sum.submission_id
)

select * from final
