-- The period kind and year the ingest wrote agree with the period id (see dim_period).
select
    submissions.submission_id,
    submissions.period_id,
    submissions.period_kind,
    submissions.period_year,
    periods.period_kind as expected_kind,
    periods.period_year as expected_year
from {{ ref('fct_submission') }} as submissions
left join {{ ref('dim_period') }} as periods on submissions.period_id = periods.period_id
where periods.period_id is null
    or submissions.period_kind is distinct from periods.period_kind
    or submissions.period_year is distinct from periods.period_year
