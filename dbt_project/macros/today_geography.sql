{#
    Shares of today's geography (docs/warehouse.md, "Today's geography").

    share_type(): the type of a share and of a product of shares along a chain of changes.
    Twelve decimals hold the product of two shares of six decimals exactly; the seed's shares
    have at most six.

    weighted_exact_sum(column, share): sum of column x share, added as decimals (exact, so the
    same whatever order the rows come in, see exact_sum.sql), returned as a double.
#}
{% macro share_type() -%}
    decimal(18, 12)
{%- endmacro %}

{% macro weighted_exact_sum(column, share) -%}
    cast(sum(cast(coalesce({{ column }}, 0) as decimal(18, 6)) * {{ share }}) as double precision)
{%- endmacro %}
