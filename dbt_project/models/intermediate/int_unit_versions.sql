{#-
    Every version of every territorial unit, (code, validity), derived from the dated list of
    changes (seed unit_changes) alone: a code's versions are cut at the dates where it appears
    as an old unit (its version ends the day before) or as a successor (a version starts).
    `valid_from` inclusive (null: before any recorded change), `valid_to` exclusive (null: still
    valid). A ward or commune of the master list that never changed is one version, always valid.
    Agencies and mass organisations have no territory and are not listed.
-#}

with changes as (
    select * from {{ ref('unit_changes') }}
),

master_list as (
    -- the master list in use (DVK_UNITS_FILE, default the seed), as the ingest reads it
    select unit_code as code, unit_name as name, unit_kind as kind
    from {{ ref('stg_reference__reporting_units') }}
),

boundaries as (
    select old_code as unit_code, change_date, true as ends_here, false as starts_here, old_name as unit_name
    from changes
    union all
    select new_code as unit_code, change_date, false as ends_here, true as starts_here, new_name as unit_name
    from changes
),

per_date as (
    select
        unit_code,
        change_date,
        bool_or(ends_here) as ends_here,
        bool_or(starts_here) as starts_here,
        min(unit_name) filter (where ends_here) as name_before,
        min(unit_name) filter (where starts_here) as name_after
    from boundaries
    group by unit_code, change_date
),

ordered as (
    select
        *,
        lead(change_date) over (partition by unit_code order by change_date) as next_change_date,
        row_number() over (partition by unit_code order by change_date) as change_no
    from per_date
),

changed_versions as (
    -- the version before the code's first recorded change
    select unit_code, name_before as unit_name, cast(null as date) as valid_from, change_date as valid_to
    from ordered
    where change_no = 1 and ends_here
    union all
    -- a version starting with each change that names the code as a successor
    select unit_code, name_after as unit_name, change_date as valid_from, next_change_date as valid_to
    from ordered
    where starts_here
),

unchanged_units as (
    select code as unit_code, min(name) as unit_name, cast(null as date) as valid_from, cast(null as date) as valid_to
    from master_list
    where kind in ('phuong', 'xa')
        and code not in (select old_code from changes)
        and code not in (select new_code from changes)
    group by code
),

all_versions as (
    select * from changed_versions
    union all
    select * from unchanged_units
),

final as (
    select
        unit_code || '@' || coalesce(cast(valid_from as varchar), 'start') as unit_version_id,
        unit_code,
        unit_name,
        valid_from,
        valid_to,
        valid_to is null as is_current
    from all_versions
)

select * from final
