{#-
    Time-versioned rows: for each key, no two rows' validities [from, to) overlap (a null `to`
    is open-ended). Failing rows: the pairs that overlap.
-#}
{% test validity_does_not_overlap(model, key_column, from_column, to_column) %}

with versions as (
    select
        {{ key_column }} as key_value,
        {{ from_column }} as valid_from,
        {{ to_column }} as valid_to,
        row_number() over (partition by {{ key_column }} order by {{ from_column }}) as version_no
    from {{ model }}
)

select a.key_value, a.valid_from, a.valid_to, b.valid_from as other_valid_from, b.valid_to as other_valid_to
from versions as a
inner join versions as b
    on a.key_value = b.key_value
    and a.version_no < b.version_no
where b.valid_from < coalesce(a.valid_to, cast('9999-12-31' as date))
    and a.valid_from < coalesce(b.valid_to, cast('9999-12-31' as date))

{% endtest %}
