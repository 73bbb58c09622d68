-- Rule 4: the shares of a split unit, per change and old unit, add up to exactly 1; every split
-- row of unit_changes has its share and every share belongs to a split row. Rows returned fail.
with splits as (
    select change_date, old_code, new_code
    from {{ ref('stg_reference__unit_changes') }}
    where change_kind = 'split'
),

shares as (
    select * from {{ ref('stg_reference__unit_split_shares') }}
),

not_one as (
    select change_date, old_code, cast(null as varchar) as new_code,
           'shares add up to ' || cast(sum(share) as varchar) || ', not 1' as problem
    from shares
    group by change_date, old_code
    having sum(share) <> 1
),

missing_share as (
    select splits.change_date, splits.old_code, splits.new_code,
           'split without a share in unit_split_shares' as problem
    from splits
    left join shares using (change_date, old_code, new_code)
    where shares.share is null
),

share_without_split as (
    select shares.change_date, shares.old_code, shares.new_code,
           'share of no split row of unit_changes' as problem
    from shares
    left join splits using (change_date, old_code, new_code)
    where splits.old_code is null
)

select * from not_one
union all
select * from missing_share
union all
select * from share_without_split
