{#-
    Rule 5 (reorganisations spec): per unit of today and year, whether the unit's territory was
    wholly inside the deployment at the year's reference date (the last day of the year's data
    window, 14 December). A year is incomplete when a version valid that day maps to the unit
    of today (any share) and was then outside the deployment (it joined later through a
    `transfer_in`): e.g. Trần Phú 18100 before 2025 (Hộ Độ reported to Lộc Hà district),
    Cẩm Bình 18685 before 2025 (Cẩm Vịnh, Cẩm Bình; Cẩm Thành never in the city).
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
        coalesce(bool_or(parts.is_outside_deployment), false) as is_incomplete,
        string_agg(parts.unit_name, '; ' order by parts.unit_code)
            filter (where parts.is_outside_deployment) as outside_parts
    from years
    cross join today_units
    left join parts
        on parts.year = years.year and parts.today_unit_code = today_units.today_unit_code
    group by years.year, years.reference_date, today_units.today_unit_code, today_units.today_unit_name
)

select * from final
