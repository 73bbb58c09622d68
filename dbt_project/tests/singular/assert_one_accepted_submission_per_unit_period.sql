-- Every (unit, period) with submissions has exactly one accepted submission, its latest version.
select
    unit_code,
    period_id,
    count(*) filter (where is_accepted) as accepted_count,
    max(version_no) as max_version,
    max(version_no) filter (where is_accepted) as accepted_version
from {{ ref('fct_submission') }}
group by unit_code, period_id
having count(*) filter (where is_accepted) <> 1
    or max(version_no) <> max(version_no) filter (where is_accepted)
    or max(version_no) <> count(*)
