{#-
    None of the given columns is null in any row (one query for many columns: cheaper than one
    not_null test per column; the failing rows show which column is null).
-#}
{% test columns_not_null(model, columns) %}

select *
from {{ model }}
where {% for column in columns -%}
    {{ column }} is null{% if not loop.last %} or {% endif %}
{%- endfor %}

{% endtest %}
