{#-
    Every version (code, validity) of every territorial unit today's map needs.

    The master list in use (stg_reference__reporting_units: DVK_UNITS_FILE, time-versioned) is
    the one source of truth for the units of the deployment: each of its ward or commune rows is
    one version, with the list's validity (`valid_from` inclusive, `valid_to` exclusive, null:
    still valid), as the ingest (rule 1) and dim_reporting_unit read it.

    The changes (seed unit_changes) only add the versions the list does not carry: units that
    were outside the deployment before they joined it (Hộ Độ of Lộc Hà district before 2025,
    Cẩm Thành never in the city), whose territory a unit of today includes (rule 5). They are cut
    from the changes where a code appears as an old unit (its version ends that day) or as a
    successor (a version starts), and kept only where no version of the list holds the same code
    at any overlapping date. `in_master_list` tells the two apart.
    Agencies and mass organisations have no territory and are not listed.
-#}

with changes as (
    select * from {{ ref('stg_reference__unit_changes') }}
),

master_list as (
    select unit_code, unit_name, valid_from, valid_to
    from {{ ref('stg_reference__reporting_units') }}
    where unit_kind in ('phuong', 'xa')
),

boundaries as (
    select upper(cast(old_code as varchar)) as unit_code, cast(change_date as date) as change_date,
        true as ends_here, false as starts_here, cast(old_name as varchar) as unit_name
    from changes
    union all
    select upper(cast(new_code as varchar)) as unit_code, cast(change_date as date) as change_date,
        false as ends_here, true as starts_here, cast(new_name as varchar) as unit_name
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

versions_from_changes as (
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

outside_the_list as (
    -- only what the master list does not hold: no version of the list overlaps it
    select derived.*
    from versions_from_changes as derived
    where not exists (
        select 1
        from master_list
        where master_list.unit_code = derived.unit_code
            and (derived.valid_from is null or master_list.valid_to is null
                or master_list.valid_to > derived.valid_from)
            and (derived.valid_to is null or master_list.valid_from is null
                or master_list.valid_from < derived.valid_to)
    )
),

all_versions as (
    select unit_code, unit_name, valid_from, valid_to, true as in_master_list
    from master_list
    union all
    select unit_code, unit_name, valid_from, valid_to, false as in_master_list
    from outside_the_list
),

final as (
    select
        unit_code || '@' || coalesce(cast(valid_from as varchar), 'start') as unit_version_id,
        unit_code,
        unit_name,
        valid_from,
        valid_to,
        valid_to is null as is_current,
        in_master_list
    from all_versions
)

select * from final
