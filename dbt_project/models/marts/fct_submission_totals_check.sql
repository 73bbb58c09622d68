with compared as (
    select * from {{ ref('int_submission_totals_compared') }}
),

final as (
    select
        submission_id,
        field_code,
        unit_code,
        period_id,
        declared_total,
        declared_new,
        declared_replicated,
        computed_total,
        computed_new,
        computed_replicated,
        declared_funds,
        computed_funds,
        fields_sum_total,
        fields_sum_new,
        fields_sum_replicated,
        unit_key
    from compared
)

select * from final
