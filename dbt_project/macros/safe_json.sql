{#- Parse a text column as jsonb without failing on malformed JSON: invalid input
    becomes NULL (PostgreSQL 16's pg_input_is_valid checks without raising). -#}
{% macro safe_jsonb(text_expr) -%}
    (case when pg_input_is_valid({{ text_expr }}, 'jsonb') then ({{ text_expr }})::jsonb end)
{%- endmacro %}

{% macro is_valid_json(text_expr) -%}
    coalesce(pg_input_is_valid({{ text_expr }}, 'jsonb'), false)
{%- endmacro %}
