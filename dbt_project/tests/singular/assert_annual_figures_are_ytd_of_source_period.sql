-- Year-to-date (spec section 2): a unit's annual figures per field and source submission are
-- exactly the figures of that source period in fct_unit_field_ytd, never a sum over the periods
-- of the year.
with annual as (
    select * from {{ ref('fct_annual_unit_field') }}
),

ytd as (
    select * from {{ ref('fct_unit_field_ytd') }}
    where is_annual_source
)

select
    coalesce(annual.year, ytd.period_year) as year,
    coalesce(annual.source_unit_code, ytd.unit_code) as unit_code,
    coalesce(annual.field_code, ytd.field_code) as field_code,
    annual.models_total as annual_models,
    ytd.models_total as ytd_models
from annual
full outer join ytd
    on annual.year = ytd.period_year
    and annual.source_submission_id = ytd.submission_id
    and annual.field_code = ytd.field_code
where annual.unit_code is null
    or ytd.unit_code is null
    or annual.source_unit_code <> ytd.unit_code
    or annual.source_period_id <> ytd.period_id
    or annual.models_total <> ytd.models_total
    or annual.models_new <> ytd.models_new
    or annual.models_replicated <> ytd.models_replicated
    or annual.households <> ytd.households
    or abs(annual.funds_million_vnd - ytd.funds_million_vnd) > 1e-9
    or annual.labour_days <> ytd.labour_days
    or abs(annual.land_m2 - ytd.land_m2) > 1e-9
