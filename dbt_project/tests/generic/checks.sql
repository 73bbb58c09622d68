{#-
    checks: every data check of one model (or seed, or source table) in one query, one test node
    instead of one per check (dbt pays each node ~20 ms of bookkeeping; issue 16). The query
    returns one row per check that fails: the model, the column(s), the check and how many rows
    (or values) fail it, with one failing value as an example. Arguments, each optional:

      not_null: [column, ...]
      unique: [column, ...]
      accepted_values: {column: [value, ...]}                 values quoted as strings, as dbt's
                       {column: {values: [...], quote: false}}   accepted_values does by default
      relationships: {column: {to: ref('parent'), field: parent_column, where: "sql"}}
                                                               (or a list of them for one column)
      unique_combinations: [[column, column, ...], ...]        nulls equal, as group by counts them
      expressions: ["sql boolean", {expression: "sql", where: "sql"}]   null fails
      validity_does_not_overlap: [{key_column: k, from_column: f, to_column: t}]

    Each check means what dbt's not_null, unique, accepted_values and relationships tests and
    this project's unique_combination_of_columns, expression_is_true and
    validity_does_not_overlap tests mean (same SQL conditions; `where` filters the model's rows
    the check looks at, like a test's `where` config). The row-wise checks (not_null,
    accepted_values, expressions) share one scan of the model. tests/support/dbt_checks.py lists
    every check from the manifest; tests/test_dbt_checks.py keeps the list from shrinking unseen.
-#}
{% test checks(model, not_null=[], unique=[], accepted_values={}, relationships={},
               unique_combinations=[], expressions=[], validity_does_not_overlap=[]) %}

{%- set model_name = model.identifier if model.identifier is defined and model.identifier else (model | string) -%}
{%- set text = dbt.type_string() -%}
{%- set branches = [] -%}

{#- the row-wise checks: one aggregate over the model, one column per check -#}
{%- set row_checks = [] -%}
{%- for column in not_null -%}
    {%- do row_checks.append((column, 'not_null', column ~ ' is null', none)) -%}
{%- endfor -%}
{%- for column, spec in accepted_values.items() -%}
    {%- set values = spec['values'] if spec is mapping else spec -%}
    {%- set quote = spec.get('quote', true) if spec is mapping else true -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append("'" ~ value ~ "'" if quote else (value | string)) -%}
    {%- endfor -%}
    {%- do row_checks.append((column, 'accepted_values [' ~ (listed | join(', ') | replace("'", '')) ~ ']',
                              column ~ ' not in (' ~ (listed | join(', ')) ~ ')', column)) -%}
{%- endfor -%}
{%- for spec in expressions -%}
    {%- set expression = spec['expression'] if spec is mapping else spec -%}
    {%- set where = spec.get('where') if spec is mapping else none -%}
    {%- set failing = 'not coalesce((' ~ expression ~ '), false)' -%}
    {%- if where -%}{%- set failing = '(' ~ where ~ ') and ' ~ failing -%}{%- endif -%}
    {%- do row_checks.append(('', 'expression: ' ~ (expression | replace("'", "''")), failing, none)) -%}
{%- endfor -%}

with model_rows as (
    select * from {{ model }}
)
{%- if row_checks %},
row_checks as (
    select
    {%- for column, check, failing, example in row_checks %}
        sum(case when {{ failing }} then 1 else 0 end) as failing_{{ loop.index }},
        {% if example -%}
        min(case when {{ failing }} then cast({{ example }} as {{ text }}) end)
        {%- else -%}
        cast(null as {{ text }})
        {%- endif %} as example_{{ loop.index }}{% if not loop.last %},{% endif %}
    {%- endfor %}
    from model_rows
)
{%- for column, check, failing, example in row_checks %}
    {%- do branches.append("select '" ~ column ~ "', '" ~ check ~ "', failing_"
                           ~ loop.index ~ ", example_" ~ loop.index ~ " from row_checks") -%}
{%- endfor %}
{%- endif %}

{%- for column in unique %}
    {%- do branches.append("select '" ~ column ~ "', 'unique', count(*), min(cast(duplicated as " ~ text ~ ")) from ("
        ~ "select " ~ column ~ " as duplicated from model_rows where " ~ column ~ " is not null group by "
        ~ column ~ " having count(*) > 1) as duplicates") -%}
{%- endfor %}

{%- for column, specs in relationships.items() %}
    {%- for spec in (specs if specs is sequence and specs is not mapping and specs is not string else [specs]) %}
        {%- set parent = spec['to'] -%}
        {%- set parent_name = parent.identifier if parent.identifier is defined and parent.identifier else (parent | string) -%}
        {%- set where = spec.get('where') -%}
        {%- do branches.append("select '" ~ column ~ "', 'relationships: " ~ parent_name ~ "." ~ spec['field']
            ~ (" where " ~ (where | replace("'", "''")) if where else "") ~ "', count(*), min(cast(child.value as " ~ text ~ ")) from ("
            ~ "select " ~ column ~ " as value from model_rows" ~ (" where " ~ where if where else "") ~ ") as child "
            ~ "left join (select " ~ spec['field'] ~ " as value from " ~ parent ~ ") as parent "
            ~ "on child.value = parent.value where child.value is not null and parent.value is null") -%}
    {%- endfor %}
{%- endfor %}

{%- for columns in unique_combinations %}
    {%- set shown = [] -%}
    {%- for column in columns -%}
        {%- do shown.append("coalesce(cast(" ~ column ~ " as " ~ text ~ "), 'null')") -%}
    {%- endfor -%}
    {%- do branches.append("select '" ~ (columns | join(', ')) ~ "', 'unique_combination', count(*), min(duplicated) from ("
        ~ "select " ~ (shown | join(" || ', ' || ")) ~ " as duplicated from model_rows group by "
        ~ (columns | join(', ')) ~ " having count(*) > 1) as duplicates") -%}
{%- endfor %}

{%- for spec in validity_does_not_overlap %}
    {%- do branches.append("select '" ~ spec['key_column'] ~ "', 'validity_does_not_overlap " ~ spec['from_column'] ~ ".."
        ~ spec['to_column'] ~ "', count(*), min(cast(a.key_value as " ~ text ~ ")) from ("
        ~ "select " ~ spec['key_column'] ~ " as key_value, " ~ spec['from_column'] ~ " as valid_from, "
        ~ spec['to_column'] ~ " as valid_to, row_number() over (partition by " ~ spec['key_column'] ~ " order by "
        ~ spec['from_column'] ~ ") as version_no from model_rows) as a inner join ("
        ~ "select " ~ spec['key_column'] ~ " as key_value, " ~ spec['from_column'] ~ " as valid_from, "
        ~ spec['to_column'] ~ " as valid_to, row_number() over (partition by " ~ spec['key_column'] ~ " order by "
        ~ spec['from_column'] ~ ") as version_no from model_rows) as b "
        ~ "on a.key_value = b.key_value and a.version_no < b.version_no "
        ~ "where b.valid_from < coalesce(a.valid_to, cast('9999-12-31' as date)) "
        ~ "and a.valid_from < coalesce(b.valid_to, cast('9999-12-31' as date))") -%}
{%- endfor %}
{%- if not branches -%}
    {{ exceptions.raise_compiler_error("a checks test with no check (" ~ model_name ~ "): give it not_null, unique, accepted_values, relationships, unique_combinations, expressions or validity_does_not_overlap") }}
{%- endif %},

checked (column_name, check_name, failing_rows, example) as (
{%- for branch in branches %}
    {{ branch }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
)

select
    '{{ model_name }}' as model_name,
    column_name,
    check_name,
    failing_rows,
    example
from checked
where failing_rows > 0

{% endtest %}
