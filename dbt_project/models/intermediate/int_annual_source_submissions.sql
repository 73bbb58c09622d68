{#-
    The submissions the annual figures of year Y come from, per (year, unit version) (spec
    section 2; reorganisations spec, rule 3). One row per (year, unit_key, source submission).

    The units of year Y are those valid at the end of the year's window (14 December Y; for 2025
    the seven new units). Each unit's figures come from its own accepted submissions of the year
    (`figures_source` = 'own_report'): its annual submission; else the accepted submission of its
    latest shorter period of the year (latest window end; on a tie the longer period, then the
    newest report), flagged provisional.

    A unit of the year's end with no accepted submission of the year at all is counted from its
    predecessors (int_unit_changes: the units that merged into it, were renamed into it or joined
    with it), each from its own latest accepted submission of the year as above: several rows,
    all provisional, `figures_source` = 'predecessors'. A predecessor's reports are never added
    on top of a successor that reported itself, and a unit that is not valid at the year's end is
    never a unit of the year in its own right (its reports stay in history: fct_submission,
    fct_model). A predecessor that was split between several successors (change_kind 'split') is
    not counted here: no public share says which of its models went where (rules 4-5 apportion
    it on today's geography); fct_annual_unit_status names it.

    Submissions whose unit has no version valid on their period's window end (unit_key null:
    loaded before the list was versioned) keep the old rule: the unit's own figures.
-#}

with accepted as (
    select * from {{ ref('int_submissions_versioned') }}
    where is_accepted
),

periods as (
    select * from {{ ref('int_periods') }}
),

units as (
    select * from {{ ref('stg_reference__reporting_units') }}
),

changes as (
    select * from {{ ref('int_unit_changes') }}
),

ranked as (
    select
        accepted.period_year as year,
        accepted.unit_key,
        accepted.unit_code,
        accepted.submission_id,
        accepted.period_id,
        accepted.period_kind,
        row_number() over (
            partition by accepted.period_year, accepted.unit_key, accepted.unit_code
            order by
                (accepted.period_kind = 'year') desc,
                periods.window_end desc nulls last,
                periods.period_months desc nulls last,
                accepted.report_date desc nulls last,
                accepted.received_at desc nulls last,
                accepted.submission_id desc
        ) as source_rank
    from accepted
    left join periods on accepted.period_id = periods.period_id
),

latest as (
    -- each unit version's latest accepted submission of each year
    select year, unit_key, unit_code, submission_id, period_id, period_kind
    from ranked
    where source_rank = 1
),

covered_years as (
    select distinct year from latest
),

year_end_units as (
    select
        covered_years.year,
        units.unit_key,
        units.unit_code
    from covered_years
    inner join units
        on units.valid_from <= {{ make_date('covered_years.year', 12, 14) }}
        and (units.valid_to is null or units.valid_to > {{ make_date('covered_years.year', 12, 14) }})
),

own as (
    select
        latest.year,
        latest.unit_key,
        latest.unit_code,
        latest.submission_id,
        latest.period_id,
        latest.period_kind,
        latest.unit_key as source_unit_key,
        latest.unit_code as source_unit_code,
        'own_report' as figures_source
    from latest
    where latest.unit_key is null
        or latest.unit_key in (
            select y.unit_key from year_end_units as y where y.year = latest.year
        )
),

without_report as (
    select year_end_units.*
    from year_end_units
    left join own
        on own.year = year_end_units.year
        and own.unit_key = year_end_units.unit_key
    where own.unit_key is null
),

from_predecessors as (
    select
        without_report.year,
        without_report.unit_key,
        without_report.unit_code,
        latest.submission_id,
        latest.period_id,
        latest.period_kind,
        latest.unit_key as source_unit_key,
        latest.unit_code as source_unit_code,
        'predecessors' as figures_source
    from without_report
    inner join changes
        on changes.new_unit_key = without_report.unit_key
        and changes.change_kind <> 'split'
    inner join latest
        on latest.year = without_report.year
        and latest.unit_key = changes.old_unit_key
),

unioned as (
    select * from own
    union all
    select * from from_predecessors
),

final as (
    select
        year,
        unit_key,
        unit_code,
        submission_id as source_submission_id,
        period_id as source_period_id,
        period_kind as source_period_kind,
        source_unit_key,
        source_unit_code,
        figures_source,
        figures_source = 'predecessors' or period_kind <> 'year' as is_provisional
    from unioned
)

select * from final
