{#-
    The unit versions derived from unit_changes (int_unit_versions) agree with the master list in
    use (stg_reference__reporting_units: DVK_UNITS_FILE, time-versioned, reorganisations spec §2):
    every ward or commune row of the list lies within one derived version of its code that ends
    when the row ends. Rows returned fail.
-#}
with master_list as (
    select unit_code as code, valid_from, valid_to
    from {{ ref('stg_reference__reporting_units') }}
    where unit_kind in ('phuong', 'xa')
),

versions as (
    select * from {{ ref('int_unit_versions') }}
)

select master_list.*, versions.unit_version_id, versions.valid_to as derived_valid_to
from master_list
left join versions
    on versions.unit_code = master_list.code
    and (versions.valid_from is null or versions.valid_from <= master_list.valid_from)
    and (versions.valid_to is null or versions.valid_to > master_list.valid_from)
where versions.unit_version_id is null
    or versions.valid_to is distinct from master_list.valid_to
