{#-
    Rule 5 (reorganisations spec): per unit of today and year, whether the unit's territory was
    wholly inside the deployment at the year's reference date (the last day of the year's data
    window, 14 December). A year is incomplete when a version valid that day maps to the unit
    of today (any share) and was then outside the deployment (it joined later through a
    `transfer_in`): e.g. Trần Phú 18100 before 2025 (Hộ Độ reported to Lộc Hà district),
    Cẩm Bình 18685 before 2025 (Cẩm Vịnh, Cẩm Bình; Cẩm Thành never in the city).

    A year is also incomplete when a unit valid that day is counted from its predecessors
    (rule 3, int_annual_source_submissions.figures_source = 'predecessors') and some of its
    predecessors' territory is not in those figures (`uncounted_parts`): a part that joined it
    from outside the deployment on that day (Cẩm Thành for Cẩm Bình in 2025), a predecessor
    split between several successors (rule 3 does not count it: Đại Nài for Thành Sen and Hà
    Huy Tập), or a predecessor that sent no report of the year.
    One row per (year with any submission, unit of today).
-#}

with years as (
    select period_year as year, window_end as reference_date
    from {{ ref('int_periods') }}
    where period_kind = 'year'
),

today_units as (
    select unit_code as today_unit_code, unit_name as today_unit_name
    from {{ ref('int_unit_versions') }}
    where is_current
),

unit_map as (
    select * from {{ ref('int_unit_today_map') }}
),

units as (
    select * from {{ ref('stg_reference__reporting_units') }}
),

predecessor_sources as (
    select * from {{ ref('int_annual_source_submissions') }}
    where figures_source = 'predecessors'
),

counted_from_predecessors as (
    select distinct year, unit_key from predecessor_sources
),

uncounted as (
    -- a predecessor of a unit counted from its predecessors whose territory is not in the figures
    select
        counted.year,
        unit_map.today_unit_code,
        changes.old_unit_code,
        changes.old_unit_name
    from counted_from_predecessors as counted
    inner join units on units.unit_key = counted.unit_key
    inner join {{ ref('int_unit_changes') }} as changes
        on changes.new_unit_key = counted.unit_key
    inner join unit_map
        on unit_map.unit_version_id
            = units.unit_code || '@' || coalesce(cast(units.valid_from as varchar), 'start')
    where changes.old_unit_key is null
        or not exists (
            select 1
            from predecessor_sources as used
            where used.year = counted.year
                and used.unit_key = counted.unit_key
                and used.source_unit_key = changes.old_unit_key
        )
),

uncounted_per_unit as (
    select
        year,
        today_unit_code,
        string_agg(distinct old_unit_name, '; ' order by old_unit_name) as uncounted_parts
    from uncounted
    group by year, today_unit_code
),

parts as (
    -- every version valid on the reference date and the unit of today its territory went to
    select
        years.year,
        unit_map.today_unit_code,
        unit_map.unit_code,
        unit_map.unit_name,
        unit_map.is_outside_deployment
    from years
    inner join unit_map
        on (unit_map.valid_from is null or unit_map.valid_from <= years.reference_date)
        and (unit_map.valid_to is null or unit_map.valid_to > years.reference_date)
),

final as (
    select
        years.year,
        years.reference_date,
        today_units.today_unit_code,
        today_units.today_unit_name,
        coalesce(bool_or(parts.is_outside_deployment), false)
            or min(uncounted_per_unit.uncounted_parts) is not null as is_incomplete,
        string_agg(parts.unit_name, '; ' order by parts.unit_code)
            filter (where parts.is_outside_deployment) as outside_parts,
        min(uncounted_per_unit.uncounted_parts) as uncounted_parts
    from years
    cross join today_units
    left join parts
        on parts.year = years.year and parts.today_unit_code = today_units.today_unit_code
    left join uncounted_per_unit
        on uncounted_per_unit.year = years.year
        and uncounted_per_unit.today_unit_code = today_units.today_unit_code
    group by years.year, years.reference_date, today_units.today_unit_code, today_units.today_unit_name
)

select * from final
