{#
    Sum of a DOUBLE column that does not depend on the order of the rows.

    A sum of doubles changes in its last bits with the order DuckDB happens to add them in (and
    that order is not fixed between runs), so two builds of the same data could differ. Adding the
    values as DECIMAL(38, 6) is exact; the total is then turned back into a double. Six decimals
    are more than the form's figures carry (million VND to 0.001, m² to 0.01).
#}
{% macro exact_sum(column) -%}
    cast(sum(cast({{ column }} as decimal(38, 6))) as double precision)
{%- endmacro %}
