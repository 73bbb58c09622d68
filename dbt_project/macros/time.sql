{#-
    The local calendar date (var `local_timezone`, default Asia/Ho_Chi_Minh, UTC+7) of a UTC
    timestamp without time zone, as `received_at` is stored in raw.submissions.
-#}
{% macro local_date(utc_timestamp) -%}
    cast(timezone('{{ var("local_timezone", "Asia/Ho_Chi_Minh") }}', timezone('UTC', {{ utc_timestamp }})) as date)
{%- endmacro %}
