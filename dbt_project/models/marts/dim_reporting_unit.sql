{#-
    The reporting units of the master list in use (stg_reference__reporting_units: the file of
    DVK_UNITS_FILE, default the seed `reporting_units`), one row per unit version: a unit is
    (code, validity), since codes are reused (reorganisations spec, section 1). `unit_key` is the
    surrogate key every fact carries; `valid_from` inclusive, `valid_to` exclusive; `is_current`:
    still valid. From int_unit_changes: the units it came from and went to. From the snapshot
    `snp_reporting_units`: how many records the warehouse kept of it and the names it had in
    earlier records (edits of the list).
-#}

with units as (
    select * from {{ ref('stg_reference__reporting_units') }}
),

history as (
    select * from {{ ref('dim_reporting_unit_history') }}
),

changes as (
    select * from {{ ref('int_unit_changes') }}
),

history_by_unit as (
    select
        history.unit_key,
        count(*) as records_count,
        string_agg(distinct history.unit_name, '; ' order by history.unit_name)
            filter (where history.unit_name <> units.unit_name) as previous_names
    from history
    inner join units on history.unit_key = units.unit_key
    group by history.unit_key
),

predecessors as (
    select
        new_unit_key as unit_key,
        string_agg(distinct old_unit_code, '; ' order by old_unit_code) as predecessor_codes
    from changes
    where new_unit_key is not null
    group by new_unit_key
),

successors as (
    select
        old_unit_key as unit_key,
        string_agg(distinct new_unit_code, '; ' order by new_unit_code) as successor_codes
    from changes
    where old_unit_key is not null
    group by old_unit_key
),

final as (
    select
        units.unit_code,
        units.unit_name,
        units.unit_kind,
        units.parent_code,
        units.aliases,
        units.valid_from,
        units.valid_to,
        units.unit_key,
        units.is_current,
        cast(count(*) over (partition by units.unit_code) as integer) as code_versions_count,
        predecessors.predecessor_codes,
        successors.successor_codes,
        cast(coalesce(history_by_unit.records_count, 1) as integer) as records_count,
        history_by_unit.previous_names
    from units
    left join history_by_unit on units.unit_key = history_by_unit.unit_key
    left join predecessors on units.unit_key = predecessors.unit_key
    left join successors on units.unit_key = successors.unit_key
)

select * from final
