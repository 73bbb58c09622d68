{#-
    Every record the warehouse has kept of every unit version of the master list, from the
    snapshot `snp_reporting_units` (check strategy on name, kind, parent, aliases and valid_to):
    the edits a deployment made to its list, dated when the warehouse first saw them. One row
    per (unit_key, record_no); record 1 is the oldest. The legal validity of each version is
    valid_from / valid_to (dim_reporting_unit); recorded_from / recorded_to are wall-clock times.
-#}

with snapshot as (
    select * from {{ ref('snp_reporting_units') }}
),

current_units as (
    select unit_key
    from {{ ref('stg_reference__reporting_units') }}
),

final as (
    select
        cast(snapshot.unit_key as varchar) as unit_key,
        cast(snapshot.unit_code as varchar) as unit_code,
        cast(row_number() over (
            partition by snapshot.unit_key order by snapshot.dbt_valid_from, snapshot.dbt_scd_id
        ) as integer) as record_no,
        cast(snapshot.unit_name as varchar) as unit_name,
        cast(snapshot.unit_kind as varchar) as unit_kind,
        cast(snapshot.parent_code as varchar) as parent_code,
        cast(snapshot.aliases as varchar) as aliases,
        cast(snapshot.valid_from as date) as valid_from,
        cast(snapshot.valid_to as date) as valid_to,
        cast(snapshot.dbt_valid_from as timestamp) as recorded_from,
        cast(snapshot.dbt_valid_to as timestamp) as recorded_to,
        snapshot.dbt_valid_to is null as is_current_record,
        current_units.unit_key is not null as is_in_master_list
    from snapshot
    left join current_units on cast(snapshot.unit_key as varchar) = current_units.unit_key
)

select * from final
