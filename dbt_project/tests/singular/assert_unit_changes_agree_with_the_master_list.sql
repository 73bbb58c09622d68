{#-
    The dated changes (seed unit_changes) agree with the master list in use
    (stg_reference__reporting_units: DVK_UNITS_FILE, time-versioned, reorganisations spec §2),
    which is the one source of the deployment's unit versions (int_unit_versions): a change's old
    unit, when the list holds its code the day before the change, has a version of the list
    ending on the change date; its successor, when the list holds its code on the change date, a
    version starting that day. Otherwise today's map would not link the two (a list from one
    deployment with the changes of another). Rows returned fail.
-#}
with changes as (
    select
        cast(change_date as date) as change_date,
        upper(cast(old_code as varchar)) as old_code,
        upper(cast(new_code as varchar)) as new_code
    from {{ ref('stg_reference__unit_changes') }}
),

master_list as (
    select unit_code, valid_from, valid_to
    from {{ ref('stg_reference__reporting_units') }}
    where unit_kind in ('phuong', 'xa')
),

old_side as (
    select changes.change_date, changes.old_code as unit_code, 'old unit does not end on the change date' as problem
    from changes
    inner join master_list
        on master_list.unit_code = changes.old_code
        and (master_list.valid_from is null or master_list.valid_from < changes.change_date)
        and (master_list.valid_to is null or master_list.valid_to >= changes.change_date)
    where master_list.valid_to is distinct from changes.change_date
),

new_side as (
    select changes.change_date, changes.new_code as unit_code, 'successor does not start on the change date' as problem
    from changes
    inner join master_list
        on master_list.unit_code = changes.new_code
        and (master_list.valid_from is null or master_list.valid_from <= changes.change_date)
        and (master_list.valid_to is null or master_list.valid_to > changes.change_date)
    where master_list.valid_from is distinct from changes.change_date
)

select * from old_side
union all
select * from new_side
