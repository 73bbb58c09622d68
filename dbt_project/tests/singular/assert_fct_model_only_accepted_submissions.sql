-- fct_model holds the lines of accepted submissions only, and all of them.
with accepted as (
    select submission_id, models_count
    from {{ ref('fct_submission') }}
    where is_accepted
),

lines as (
    select submission_id, count(*) as n_lines
    from {{ ref('fct_model') }}
    group by submission_id
)

select
    coalesce(accepted.submission_id, lines.submission_id) as submission_id,
    accepted.models_count,
    lines.n_lines
from accepted
full outer join lines on accepted.submission_id = lines.submission_id
where accepted.submission_id is null
    or coalesce(lines.n_lines, 0) <> accepted.models_count
