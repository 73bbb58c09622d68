{#-
    Rule 4 (reorganisations spec): every version of every unit mapped to the units of today
    (versions still valid, int_unit_versions.is_current) along the CHAIN of changes
    (seed unit_changes): 18070 Trần Phú -> 18094 Trần Phú (2025-01-01) -> 18073 Thành Sen
    (2025-07-01). A whole unit (merge, rename, transfer_in) passes with share 1; a split unit by
    the deployment's shares (seed unit_split_shares). Shares multiply along the chain and add up
    over the paths that reach the same unit of today.

    `is_estimated`: the share rests on an estimated split share. A share of exactly 1 (all of the
    unit ends up in one unit of today, e.g. both parts of old Trần Phú are in Thành Sen) does
    not depend on how the split was estimated and is not marked.
    `is_outside_deployment`: the version was outside the deployment's territory: its way to
    today passes a `transfer_in` (it joined later, e.g. Hộ Độ before 2025, Cẩm Thành before
    July 2025).
    One row per (version, unit of today). A version of today maps to itself with share 1.
-#}

with recursive

changes as (
    select * from {{ ref('stg_reference__unit_changes') }}
),

split_shares as (
    select * from {{ ref('stg_reference__unit_split_shares') }}
),

versions as (
    select * from {{ ref('int_unit_versions') }}
),

steps as (
    -- one step of a chain: from the version ending on change_date to the successor's version
    -- starting on it
    select
        old_version.unit_version_id as from_version_id,
        new_version.unit_version_id as to_version_id,
        changes.change_date,
        changes.change_kind,
        cast(
            case when changes.change_kind = 'split' then split_shares.share else 1 end
            as {{ share_type() }}
        ) as share,
        changes.change_kind = 'split' and coalesce(split_shares.is_estimate, true) as is_estimate,
        changes.change_kind = 'transfer_in' as is_transfer_in
    from changes
    inner join versions as old_version
        on old_version.unit_code = changes.old_code and old_version.valid_to = changes.change_date
    inner join versions as new_version
        on new_version.unit_code = changes.new_code and new_version.valid_from = changes.change_date
    left join split_shares
        on split_shares.change_date = changes.change_date
        and split_shares.old_code = changes.old_code
        and split_shares.new_code = changes.new_code
),

walk as (
    select
        unit_version_id as source_version_id,
        unit_version_id as current_version_id,
        cast(1 as {{ share_type() }}) as share,
        false as rests_on_estimate,
        false as passes_transfer_in,
        0 as step_count,
        cast(unit_code as varchar) as chain
    from versions
    union all
    select
        walk.source_version_id,
        steps.to_version_id,
        cast(walk.share * steps.share as {{ share_type() }}) as share,
        walk.rests_on_estimate or steps.is_estimate as rests_on_estimate,
        walk.passes_transfer_in or steps.is_transfer_in as passes_transfer_in,
        walk.step_count + 1 as step_count,
        walk.chain || ' → ' || split_part(steps.to_version_id, '@', 1)
            || ' (' || cast(steps.change_date as varchar)
            || case when steps.change_kind = 'split' then ', ' || {{ round_text('steps.share', 6) }} else '' end
            || ')' as chain
    from walk
    inner join steps on steps.from_version_id = walk.current_version_id
    -- a guard against a cycle in a hand-edited list (the chains of the spec have 1 to 3 steps)
    where walk.step_count < 20
),

reached as (
    select
        walk.source_version_id,
        today.unit_version_id as today_version_id,
        today.unit_code as today_unit_code,
        today.unit_name as today_unit_name,
        today.valid_from as today_valid_from,
        cast(sum(walk.share) as {{ share_type() }}) as share,
        bool_or(walk.rests_on_estimate) as any_estimated_path,
        bool_or(walk.passes_transfer_in) as is_outside_deployment,
        max(walk.step_count) as steps,
        string_agg(walk.chain, '; ' order by walk.chain) as chain
    from walk
    inner join versions as today
        on today.unit_version_id = walk.current_version_id and today.is_current
    group by
        walk.source_version_id, today.unit_version_id, today.unit_code, today.unit_name, today.valid_from
),

final as (
    select
        source.unit_version_id,
        source.unit_code,
        source.unit_name,
        source.valid_from,
        source.valid_to,
        reached.today_unit_code,
        reached.today_unit_name,
        reached.today_valid_from,
        reached.share,
        reached.any_estimated_path and reached.share <> 1 as is_estimated,
        reached.is_outside_deployment,
        reached.steps,
        reached.chain
    from reached
    inner join versions as source on source.unit_version_id = reached.source_version_id
)

select * from final
