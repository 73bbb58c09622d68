{#-
    One row per (year, unit version) for every unit expected to report for a year that has any
    submission (rule 2 of the reorganisations spec: the units valid on the last day of the
    year's window, 14 December), plus any unit that reported for the year without being
    expected (a submission whose unit has no version valid then: unit_key null).
    `reported`: the figures come from the unit's accepted annual submission; `provisional`: from
    its latest shorter period of the year, or from its predecessors' reports (rule 3,
    `figures_source` = 'predecessors', with no single source submission: see
    fct_annual_unit_source); `missing`: nothing at all for the year.
-#}

with covered_years as (
    select distinct period_year as year
    from {{ ref('int_submissions_versioned') }}
),

sources as (
    select * from {{ ref('int_annual_source_submissions') }}
),

changes as (
    select * from {{ ref('int_unit_changes') }}
),

expected as (
    -- the units of each year: valid at the end of its window (int_year_end_units), from the first
    -- year reports are expected (macro first_expected_year); a report of an earlier year counts,
    -- but nobody is missing then
    select year_end.year, year_end.unit_key, year_end.unit_code
    from {{ ref('int_year_end_units') }} as year_end
    inner join covered_years on year_end.year = covered_years.year
    where year_end.year >= {{ first_expected_year() }}
),

by_unit as (
    select
        year,
        unit_key,
        unit_code,
        min(figures_source) as figures_source,
        count(*) as sources_count,
        min(source_submission_id) as any_submission_id,
        min(source_period_id) as any_period_id,
        bool_and(is_provisional) as is_provisional,
        string_agg(distinct source_unit_code, '; ' order by source_unit_code)
            filter (where figures_source = 'predecessors') as predecessor_unit_codes
    from sources
    group by year, unit_key, unit_code
),

split_left_out as (
    -- predecessors split between successors: not counted by rule 3 (see int_annual_source_submissions)
    select
        expected.year,
        expected.unit_key,
        string_agg(distinct changes.old_unit_code, '; ' order by changes.old_unit_code)
            as split_predecessor_codes
    from expected
    inner join changes
        on changes.new_unit_key = expected.unit_key
        and changes.change_kind = 'split'
    group by expected.year, expected.unit_key
),

status_grid as (
    select year, unit_key, unit_code from expected
    union
    select year, unit_key, unit_code from by_unit
),

final as (
    select
        status_grid.year,
        status_grid.unit_code,
        case
            when by_unit.unit_code is null then 'missing'
            when by_unit.is_provisional then 'provisional'
            else 'reported'
        end as status,
        case when by_unit.figures_source = 'own_report' then by_unit.any_submission_id end
            as source_submission_id,
        case when by_unit.figures_source = 'own_report' then by_unit.any_period_id end
            as source_period_id,
        status_grid.unit_key,
        by_unit.figures_source,
        by_unit.predecessor_unit_codes,
        case when by_unit.figures_source = 'predecessors' then split_left_out.split_predecessor_codes end
            as uncounted_split_predecessor_codes,
        expected.unit_code is not null as is_expected
    from status_grid
    left join by_unit
        on status_grid.year = by_unit.year
        and status_grid.unit_key is not distinct from by_unit.unit_key
        and status_grid.unit_code = by_unit.unit_code
    left join expected
        on status_grid.year = expected.year
        and status_grid.unit_key = expected.unit_key
    left join split_left_out
        on status_grid.year = split_left_out.year
        and status_grid.unit_key = split_left_out.unit_key
)

select * from final
