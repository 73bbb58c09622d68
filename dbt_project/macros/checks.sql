{#-
    Helpers of the quality gate's datasets (models/checks/).

    field_sort(field_code, sort_order): the order the gate lists a field in: the fields seed's
    `sort_order` (dim_field), an unknown code after the four fields, the "Tổng cộng" row last.

    figure_label(column, lang): the Vietnamese ('vi') or English ('en') label of the figure or
    measure named in `column` (households, funds_million_vnd...), as the gate's messages name it;
    any other value is left as it is.

    quantile_75(expr): the upper quartile (continuous) of `expr`, one dispatch per adapter.
    round_float(expr, places): below.
-#}

{% macro field_sort(field_code, sort_order) -%}
    case when {{ field_code }} = 'TOTAL' then 1000 else coalesce({{ sort_order }}, 999) end
{%- endmacro %}


{% macro figures() -%}
    {{ return(['models_total', 'models_new', 'models_replicated', 'households',
               'funds_million_vnd', 'labour_days', 'land_m2']) }}
{%- endmacro %}

{% macro figure_label(column, lang) -%}
    {%- set labels = {
        'models_total': ('số mô hình', 'models'),
        'models_new': ('số mô hình xây mới', 'new models'),
        'models_replicated': ('số mô hình nhân rộng', 'replicated models'),
        'households': ('số hộ tham gia', 'households taking part'),
        'funds_million_vnd': ('kinh phí huy động (triệu đồng)', 'funds mobilised (million VND)'),
        'labour_days': ('số ngày công', 'labour days'),
        'land_m2': ('diện tích đất hiến (m2)', 'land donated (m2)'),
    } -%}
    {%- set i = 0 if lang == 'vi' else 1 -%}
    case {{ column }}
        {%- for figure in figures() %}
        when '{{ figure }}' then '{{ labels[figure][i] }}'
        {%- endfor %}
        else {{ column }}
    end
{%- endmacro %}

{% macro quantile_75(expr) -%}
    {{ return(adapter.dispatch('quantile_75', 'dvk')(expr)) }}
{%- endmacro %}

{% macro default__quantile_75(expr) -%}
    percentile_cont(0.75) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__quantile_75(expr) -%}
    quantile_cont({{ expr }}, 0.75)
{%- endmacro %}

{#- round_float(expr, places): `expr` (a float) rounded to `places` decimals, as a float. DuckDB
    rounds the double itself (what the gate always showed: 265.325 stored as 265.32499... gives
    265.32); PostgreSQL has no round(double precision, int), so it rounds a numeric there. -#}
{% macro round_float(expr, places) -%}
    {{ return(adapter.dispatch('round_float', 'dvk')(expr, places)) }}
{%- endmacro %}

{% macro default__round_float(expr, places) -%}
    cast(round(cast({{ expr }} as numeric), {{ places }}) as double precision)
{%- endmacro %}

{% macro duckdb__round_float(expr, places) -%}
    cast(round({{ expr }}, {{ places }}) as double precision)
{%- endmacro %}
