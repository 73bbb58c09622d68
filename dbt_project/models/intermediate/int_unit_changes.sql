{#-
    The reorganisations (seed `unit_changes`, reorganisations spec section 2) between unit
    versions of the master list in use: one row per (old unit, successor) with the version keys
    it links. The old version is the one of `old_code` that ceased on the change date
    (valid_to = change_date), the successor the one of `new_code` that began that day
    (valid_from = change_date). Units outside the list (communes of other districts before they
    joined) have a null key on their side.
-#}

with changes as (
    select * from {{ ref('stg_reference__unit_changes') }}
),

units as (
    select * from {{ ref('stg_reference__reporting_units') }}
),

final as (
    select
        cast(changes.change_date as date) as change_date,
        cast(changes.change_kind as varchar) as change_kind,
        cast(changes.legal_act as varchar) as legal_act,
        upper(cast(changes.old_code as varchar)) as old_unit_code,
        cast(changes.old_name as varchar) as old_unit_name,
        old_units.unit_key as old_unit_key,
        upper(cast(changes.new_code as varchar)) as new_unit_code,
        cast(changes.new_name as varchar) as new_unit_name,
        new_units.unit_key as new_unit_key
    from changes
    left join units as old_units
        on old_units.unit_code = upper(cast(changes.old_code as varchar))
        and old_units.valid_to = cast(changes.change_date as date)
    left join units as new_units
        on new_units.unit_code = upper(cast(changes.new_code as varchar))
        and new_units.valid_from = cast(changes.change_date as date)
)

select * from final
