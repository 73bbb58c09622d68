{#-
    Schemas are exactly the configured ones (staging, intermediate, marts, seeds), with no
    target-schema prefix; nodes without a +schema land in the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
