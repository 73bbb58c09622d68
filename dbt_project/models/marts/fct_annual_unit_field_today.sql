{#-
    Rules 4-5 (reorganisations spec): every year's annual figures (fct_annual_unit_field) re-
    expressed on the units of today. A source row (year, unit, field) belongs to the version of
    its unit valid at the year's reference date (14 December; a unit that had ceased by then, its
    last version) and goes to the units of today along the chain of changes
    (int_unit_today_map), weighted by the share: models and measures are multiplied by the
    share and added as decimals (counts may therefore have decimals where a split unit is
    shared). Agencies and mass organisations have no territory and are left out.

    Conserved: per (year, field), the sum over the units of today equals the sum over the
    territorial source units (tests/singular/assert_today_geography_conserves_totals.sql).
-#}

with annual as (
    select * from {{ ref('fct_annual_unit_field') }}
),

years as (
    select period_year as year, window_end as reference_date
    from {{ ref('int_periods') }}
    where period_kind = 'year'
),

versions as (
    select * from {{ ref('int_unit_versions') }}
),

unit_map as (
    select * from {{ ref('int_unit_today_map') }}
),

coverage as (
    select * from {{ ref('int_today_unit_year_coverage') }}
),

source_units as (
    select distinct annual.year, annual.unit_code, years.reference_date
    from annual
    inner join years on years.year = annual.year
),

source_versions as (
    -- the version valid at the reference date, else (a unit that had ceased) its last version
    select
        source_units.year,
        source_units.unit_code,
        versions.unit_version_id,
        row_number() over (
            partition by source_units.year, source_units.unit_code
            order by versions.valid_from desc nulls last
        ) as version_rank
    from source_units
    inner join versions
        on versions.unit_code = source_units.unit_code
        and (versions.valid_from is null or versions.valid_from <= source_units.reference_date)
),

weighted as (
    select
        annual.year,
        unit_map.today_unit_code,
        unit_map.today_unit_name,
        annual.field_code,
        annual.unit_code,
        unit_map.share,
        unit_map.is_estimated,
        annual.is_provisional,
        annual.models_total,
        annual.models_new,
        annual.models_replicated,
        annual.households,
        annual.funds_million_vnd,
        annual.labour_days,
        annual.land_m2
    from annual
    inner join source_versions
        on source_versions.year = annual.year
        and source_versions.unit_code = annual.unit_code
        and source_versions.version_rank = 1
    inner join unit_map on unit_map.unit_version_id = source_versions.unit_version_id
),

final as (
    select
        weighted.year,
        weighted.today_unit_code,
        weighted.today_unit_name,
        weighted.field_code,
        {{ weighted_exact_sum('weighted.models_total', 'weighted.share') }} as models_total,
        {{ weighted_exact_sum('weighted.models_new', 'weighted.share') }} as models_new,
        {{ weighted_exact_sum('weighted.models_replicated', 'weighted.share') }} as models_replicated,
        {{ weighted_exact_sum('weighted.households', 'weighted.share') }} as households,
        {{ weighted_exact_sum('weighted.funds_million_vnd', 'weighted.share') }} as funds_million_vnd,
        {{ weighted_exact_sum('weighted.labour_days', 'weighted.share') }} as labour_days,
        {{ weighted_exact_sum('weighted.land_m2', 'weighted.share') }} as land_m2,
        bool_or(weighted.is_estimated) as is_estimated,
        coalesce(max(coverage.is_incomplete::int), 0) = 1 as is_incomplete,
        bool_or(weighted.is_provisional) as is_provisional,
        cast(count(distinct weighted.unit_code) as bigint) as source_units_count,
        string_agg(distinct
            weighted.unit_code
                || case when weighted.share <> 1 then ' ×' || {{ round_text('weighted.share', 6) }} else '' end,
        ', ' order by
            weighted.unit_code
                || case when weighted.share <> 1 then ' ×' || {{ round_text('weighted.share', 6) }} else '' end
        ) as source_units
    from weighted
    left join coverage
        on coverage.year = weighted.year and coverage.today_unit_code = weighted.today_unit_code
    group by weighted.year, weighted.today_unit_code, weighted.today_unit_name, weighted.field_code
)

select * from final
