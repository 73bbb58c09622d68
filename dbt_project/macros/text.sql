{#-
    The matching key of a Vietnamese text, the SQL twin of `dvk.text.fold` (src/dvk/text.py) for
    text the ingest has already cleaned (NFC, legacy encodings converted): zero-width characters
    dropped, NFC, diacritics stripped (đ/Đ → d), lower case, every run of characters other than
    a-z and 0-9 folded to one space, trimmed. "Tổ dân phố  mẫu." and "TO DAN PHO MAU" have the
    same key. tests/test_dbt_build.py checks it against dvk.text.fold.
-#}
{% macro default__fold_text(expression) -%}
    trim(regexp_replace(
        replace(lower(strip_accents(nfc_normalize(
            regexp_replace(coalesce({{ expression }}, ''), '[\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}]', '', 'g')
        ))), 'đ', 'd'),
        '[^0-9a-z]+', ' ', 'g'
    ))
{%- endmacro %}

{#- PostgreSQL: NFD, then the combining marks (U+0300-U+036F) dropped: the accents stripped as
    DuckDB's strip_accents does; Đ/đ (no decomposition) replaced before lower(), which depends on
    the database's locale beyond ASCII. -#}
{% macro postgres__fold_text(expression) -%}
    trim(regexp_replace(
        lower(replace(replace(regexp_replace(normalize(
            regexp_replace(coalesce({{ expression }}, ''), '[\u200B\u200C\u200D\u2060\uFEFF]', '', 'g'),
        NFD), '[\u0300-\u036F]', '', 'g'), 'đ', 'd'), 'Đ', 'D')),
        '[^0-9a-z]+', ' ', 'g'
    ))
{%- endmacro %}

{% macro fold_text(expression) -%}
    {{ return(adapter.dispatch('fold_text', 'dvk')(expression)) }}
{%- endmacro %}
