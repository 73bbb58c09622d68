{#-
    The reporting units of the current master list (seed `reporting_units`, spec section 1), one
    row per unit, with the years it must report (expected_from / expected_to) and, from the
    snapshot `snp_reporting_units`, the names it had before (renames, merges).
-#}

with units as (
    select * from {{ ref('reporting_units') }}
),

history as (
    select * from {{ ref('dim_reporting_unit_history') }}
),

history_by_unit as (
    select
        history.unit_code,
        count(*) as versions_count,
        string_agg(distinct history.unit_name, '; ' order by history.unit_name)
            filter (where history.unit_name <> cast(units.name as varchar)) as previous_names
    from history
    inner join units on history.unit_code = cast(units.code as varchar)
    group by history.unit_code
),

final as (
    select
        cast(units.code as varchar) as unit_code,
        cast(units.name as varchar) as unit_name,
        cast(units.kind as varchar) as unit_kind,
        cast(units.parent_code as varchar) as parent_code,
        cast(units.aliases as varchar) as aliases,
        cast(units.expected_from as integer) as expected_from,
        cast(units.expected_to as integer) as expected_to,
        units.expected_to is null as is_still_expected,
        cast(coalesce(history_by_unit.versions_count, 1) as integer) as versions_count,
        history_by_unit.previous_names
    from units
    left join history_by_unit on cast(units.code as varchar) = history_by_unit.unit_code
)

select * from final
