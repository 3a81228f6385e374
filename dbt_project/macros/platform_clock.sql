{#- The platform's "now": the instant a replay pinned (PLATFORM_TODAY reaches the session as
    the setting platform.now, through PGOPTIONS), else the server's clock. A setting, not a
    dbt var: the value changes every run without invalidating dbt's partial parse. -#}
{% macro platform_now() -%}
    coalesce(nullif(current_setting('platform.now', true), '')::timestamptz, now())
{%- endmacro %}
