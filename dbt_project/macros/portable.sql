{#-
    Where DuckDB and PostgreSQL differ (docs/deployment.md, "PostgreSQL"): one macro per
    construct, dispatched on the adapter (`adapter.dispatch`), so every model, test and snapshot
    of the project runs unchanged on either target. Elsewhere the SQL is portable as written
    (`double precision`, `interval '1 day'`, generate_series over integers, string_agg) or goes
    through dbt's cross-database macros (dbt.dateadd, dbt.hash, dbt.concat, ...).
-#}

{#- arg_min(value, key): the value on the row of the smallest key, as an aggregate. Rows whose
    value or key is null are ignored (DuckDB's arg_min). -#}
{% macro arg_min(value, key) -%}
    {{ return(adapter.dispatch('arg_min', 'dvk')(value, key)) }}
{%- endmacro %}
{% macro default__arg_min(value, key) -%}
    arg_min({{ value }}, {{ key }})
{%- endmacro %}
{% macro postgres__arg_min(value, key) -%}
    (array_agg({{ value }} order by {{ key }}) filter (where {{ value }} is not null and {{ key }} is not null))[1]
{%- endmacro %}

{#- arg_max(value, key): the value on the row of the largest key (see arg_min). -#}
{% macro arg_max(value, key) -%}
    {{ return(adapter.dispatch('arg_max', 'dvk')(value, key)) }}
{%- endmacro %}
{% macro default__arg_max(value, key) -%}
    arg_max({{ value }}, {{ key }})
{%- endmacro %}
{% macro postgres__arg_max(value, key) -%}
    (array_agg({{ value }} order by {{ key }} desc) filter (where {{ value }} is not null and {{ key }} is not null))[1]
{%- endmacro %}

{#- make_date(year, month, day) from integer expressions (DuckDB's make_date takes BIGINT,
    PostgreSQL's INTEGER). -#}
{% macro make_date(year, month, day) -%}
    {{ return(adapter.dispatch('make_date', 'dvk')(year, month, day)) }}
{%- endmacro %}
{% macro default__make_date(year, month, day) -%}
    make_date({{ year }}, {{ month }}, {{ day }})
{%- endmacro %}
{% macro postgres__make_date(year, month, day) -%}
    make_date(cast({{ year }} as integer), cast({{ month }} as integer), cast({{ day }} as integer))
{%- endmacro %}

{#- format_date(expression, format): a date as text, format in strftime's letters (%Y %m %d
    only). -#}
{% macro format_date(expression, format) -%}
    {{ return(adapter.dispatch('format_date', 'dvk')(expression, format)) }}
{%- endmacro %}
{% macro default__format_date(expression, format) -%}
    strftime({{ expression }}, '{{ format }}')
{%- endmacro %}
{% macro postgres__format_date(expression, format) -%}
    to_char({{ expression }}, '{{ format | replace("%Y", "YYYY") | replace("%m", "MM") | replace("%d", "DD") }}')
{%- endmacro %}

{#- regexp_full_match(expression, pattern): the whole text matches the pattern. -#}
{% macro regexp_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_full_match', 'dvk')(expression, pattern)) }}
{%- endmacro %}
{% macro default__regexp_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}
{% macro postgres__regexp_full_match(expression, pattern) -%}
    ({{ expression }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{#- split_to_rows(expression, delimiter): one row per part of the text, in a select list. -#}
{% macro split_to_rows(expression, delimiter) -%}
    {{ return(adapter.dispatch('split_to_rows', 'dvk')(expression, delimiter)) }}
{%- endmacro %}
{% macro default__split_to_rows(expression, delimiter) -%}
    unnest(string_split({{ expression }}, {{ delimiter }}))
{%- endmacro %}
{% macro postgres__split_to_rows(expression, delimiter) -%}
    unnest(string_to_array({{ expression }}, {{ delimiter }}))
{%- endmacro %}

{#- int_divide(numerator, denominator): integer division, rounded down (DuckDB's //,
    PostgreSQL's / on integers). -#}
{% macro int_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('int_divide', 'dvk')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__int_divide(numerator, denominator) -%}
    ({{ numerator }}) // ({{ denominator }})
{%- endmacro %}
{% macro postgres__int_divide(numerator, denominator) -%}
    div({{ numerator }}, {{ denominator }})
{%- endmacro %}

{#- setting(name, default): a deployment setting. The var `name` when one is given (`--vars` by
    hand, a unit test's overrides), else the environment variable DVK_<NAME>, which dvk.transform
    sets from the deployment's settings, else `default`. Settings come through the environment,
    not `--vars`, for dbt's partial parse: a changed var makes dbt parse the whole project again,
    a changed environment variable only the files that read it (a deployment's own units file,
    another grace: a few files, not the project). -#}
{% macro setting(name, default='') -%}
    {%- set given = var(name, none) -%}
    {%- if given is not none and given | string not in ('', 'None') -%}
        {{ return(given) }}
    {%- endif -%}
    {{ return(env_var('DVK_' ~ (name | upper), default | string)) }}
{%- endmacro %}

{#- first_expected_year(): the first year units are expected to report (the setting
    first_expected_year, DVK_FIRST_EXPECTED_YEAR; 2020: "Reports are expected from 2020 on"); a
    report of an earlier year counts, but nobody is expected, so nobody is missing then. -#}
{% macro first_expected_year() -%}
    {{ return(setting('first_expected_year', 2020) | int) }}
{%- endmacro %}

{#- reference_file(var_name, seed_name): the rows of a deployment's reference file (the master
    list, its changes, its split shares: the setting `var_name`, see setting()), every column as
    text; without the setting, the seed.
    DuckDB reads the CSV itself (read_csv). A PostgreSQL server cannot read the files of the
    machine dbt runs on: dvk.transform copies each file into raw.reference_<seed_name> (COPY,
    every column text) before it invokes dbt. -#}
{% macro reference_file(var_name, seed_name) -%}
    {{ return(adapter.dispatch('reference_file', 'dvk')(var_name, seed_name)) }}
{%- endmacro %}
{% macro default__reference_file(var_name, seed_name) -%}
    {%- set path = setting(var_name) | string -%}
    {%- if path and path != 'None' -%}
    select *
    from read_csv(
        '{{ path | replace("'", "''") }}',
        header = true,
        all_varchar = true,
        delim = ','
    )
    {%- else -%}
    select * from {{ ref(seed_name) }}
    {%- endif -%}
{%- endmacro %}
{% macro postgres__reference_file(var_name, seed_name) -%}
    {%- set path = setting(var_name) | string -%}
    {%- if path and path != 'None' -%}
    select * from raw.reference_{{ seed_name }}
    {%- else -%}
    select * from {{ ref(seed_name) }}
    {%- endif -%}
{%- endmacro %}

{#- round_text(expression, digits): a number rounded to `digits` decimals, as the shortest text
    of the double (0.5, 0.333333). -#}
{% macro round_text(expression, digits) -%}
    {{ return(adapter.dispatch('round_text', 'dvk')(expression, digits)) }}
{%- endmacro %}
{% macro default__round_text(expression, digits) -%}
    cast(round(cast({{ expression }} as double), {{ digits }}) as varchar)
{%- endmacro %}
{% macro postgres__round_text(expression, digits) -%}
    cast(cast(round(cast({{ expression }} as numeric), {{ digits }}) as double precision) as varchar)
{%- endmacro %}

{#- arg_min_over(value, key, partition): arg_min as a window function over `partition` (the
    keys of a partition are taken to be distinct and not null). -#}
{% macro arg_min_over(value, key, partition) -%}
    {{ return(adapter.dispatch('arg_min_over', 'dvk')(value, key, partition)) }}
{%- endmacro %}
{% macro default__arg_min_over(value, key, partition) -%}
    arg_min({{ value }}, {{ key }}) over (partition by {{ partition }})
{%- endmacro %}
{% macro postgres__arg_min_over(value, key, partition) -%}
    first_value({{ value }}) over (
        partition by {{ partition }} order by {{ key }} nulls last
        rows between unbounded preceding and unbounded following
    )
{%- endmacro %}

{#- rounded_ratio(numerator, denominator, digits): numerator / denominator rounded to `digits`
    decimals, a double; null when the denominator is 0 (DuckDB divides integers into a double,
    PostgreSQL into an integer and rounds only numerics). -#}
{% macro rounded_ratio(numerator, denominator, digits) -%}
    {{ return(adapter.dispatch('rounded_ratio', 'dvk')(numerator, denominator, digits)) }}
{%- endmacro %}
{% macro default__rounded_ratio(numerator, denominator, digits) -%}
    cast(round({{ numerator }} / nullif({{ denominator }}, 0), {{ digits }}) as double)
{%- endmacro %}
{% macro postgres__rounded_ratio(numerator, denominator, digits) -%}
    cast(round(cast({{ numerator }} as numeric) / nullif({{ denominator }}, 0), {{ digits }}) as double precision)
{%- endmacro %}

{#- choose(index, values): the index-th (from 1) of a list of texts, null outside (DuckDB's
    ['a', 'b'][i], in portable SQL). -#}
{% macro choose(index, values) -%}
    case {{ index }}{% for value in values %} when {{ loop.index }} then '{{ value | replace("'", "''") }}'{% endfor %} end
{%- endmacro %}
