{#- Layers live in schemas named after them (staging, marts, ml_features, ...), not
    "<target schema>_<layer>": other parts of the platform read these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
