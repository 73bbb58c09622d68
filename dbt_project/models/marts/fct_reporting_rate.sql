{#-
    The reporting-rate summary (as DHIS2's): one row per period with at least one submission and
    per year period of every covered year. Expected units are the unit versions of the master
    list valid on the last day of the period's window (rule 2 of the reorganisations spec);
    received units are expected units with an accepted submission for exactly that period;
    on-time units are those whose first submission came in by the due date. Rates are shares of
    the expected units, rounded to 4 decimals (null when none is expected).
-#}

with units as (
    select * from {{ ref('fct_reporting_rate_unit') }}
),

periods as (
    select * from {{ ref('dim_period') }}
),

counted as (
    select
        period_id,
        count(*) filter (where is_expected) as expected_units,
        count(*) filter (where is_expected and has_submitted) as received_units,
        count(*) filter (where is_expected and is_on_time) as on_time_units,
        count(*) filter (where is_expected and has_submitted and not is_on_time) as late_units,
        count(*) filter (where is_expected and not has_submitted) as missing_units,
        count(*) filter (where not is_expected and has_submitted) as unexpected_units,
        string_agg(unit_code, '; ' order by unit_code) filter (where is_expected and not has_submitted)
            as missing_unit_codes,
        string_agg(unit_code, '; ' order by unit_code)
            filter (where is_expected and has_submitted and not is_on_time) as late_unit_codes
    from units
    group by period_id
),

final as (
    select
        periods.period_id,
        periods.period_kind,
        periods.period_year,
        periods.label_vi,
        periods.due_date,
        cast(coalesce(counted.expected_units, 0) as integer) as expected_units,
        cast(coalesce(counted.received_units, 0) as integer) as received_units,
        cast(coalesce(counted.on_time_units, 0) as integer) as on_time_units,
        cast(coalesce(counted.missing_units, 0) as integer) as missing_units,
        coalesce(counted.missing_unit_codes, '') as missing_unit_codes,
        {{ rounded_ratio('counted.received_units', 'counted.expected_units', 4) }}
            as reporting_rate,
        {{ rounded_ratio('counted.on_time_units', 'counted.expected_units', 4) }}
            as on_time_rate,
        cast(coalesce(counted.late_units, 0) as integer) as late_units,
        coalesce(counted.late_unit_codes, '') as late_unit_codes,
        cast(coalesce(counted.unexpected_units, 0) as integer) as unexpected_units
    from periods
    left join counted on periods.period_id = counted.period_id
    where periods.period_kind = 'year' or counted.period_id is not null
)

select * from final
