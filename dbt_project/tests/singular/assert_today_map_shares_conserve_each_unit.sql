-- Rule 4, conservation: the shares of one unit version over the units of today add up to
-- exactly 1 (all of it goes somewhere, nothing twice). Rows returned fail.
select unit_version_id, sum(share) as total_share
from {{ ref('int_unit_today_map') }}
group by unit_version_id
having sum(share) <> 1
