-- Rule 4, conservation: the shares of one unit version over the units of today add up to
-- exactly 1 (all of it goes somewhere, nothing twice). Every version of a territorial unit
-- (int_unit_versions) is checked, also one that reaches no unit of today (share 0): a unit whose
-- validity ends in the master list with no successor recorded in the changes (seed unit_changes)
-- would otherwise lose its figures on today's geography silently. Rows returned fail, naming
-- the unit version.
select
    versions.unit_version_id,
    versions.unit_name,
    versions.valid_to,
    coalesce(sum(unit_map.share), 0) as total_share,
    case when count(unit_map.unit_version_id) = 0
        then 'no successor recorded in unit_changes: reaches no unit of today'
        else 'shares over the units of today do not add up to 1' end as problem
from {{ ref('int_unit_versions') }} as versions
left join {{ ref('int_unit_today_map') }} as unit_map
    on unit_map.unit_version_id = versions.unit_version_id
group by versions.unit_version_id, versions.unit_name, versions.valid_to
having coalesce(sum(unit_map.share), 0) <> 1
