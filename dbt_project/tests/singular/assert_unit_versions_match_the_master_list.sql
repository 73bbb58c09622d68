{#-
    The unit versions derived from unit_changes (int_unit_versions) agree with the master list
    when the list is time-versioned (columns valid_from / valid_to, reorganisations spec §2):
    every ward or commune row of the list lies within one derived version of its code that ends
    when the row ends. A list without validity columns is not checked. Rows returned fail.
-#}
{%- set columns = [] -%}
{%- if execute -%}
    {%- set columns = adapter.get_columns_in_relation(ref('reporting_units')) | map(attribute='name') | map('lower') | list -%}
{%- endif -%}
{%- if 'valid_from' in columns and 'valid_to' in columns %}
with master_list as (
    select
        code,
        cast(valid_from as date) as valid_from,
        cast(nullif(trim(cast(valid_to as varchar)), '') as date) as valid_to
    from {{ ref('reporting_units') }}
    where kind in ('phuong', 'xa')
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
{%- else %}
-- {{ ref('reporting_units') }} {{ ref('int_unit_versions') }}: the master list has no validity columns
select 1 as nothing where false
{%- endif %}
