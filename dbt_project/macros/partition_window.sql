{#- The partition window Dagster passes as --vars '{min_date: ..., max_date: ...}'
    (ISO dates, both inclusive). Without it an incremental model reprocesses
    everything it can see, so a plain `dbt build` is always complete. -#}

{% macro has_partition_window() -%}
    {{ return(var('min_date', none) is not none and var('max_date', none) is not none) }}
{%- endmacro %}

{% macro window_min_date() -%}
    {{ return(var('min_date')) }}
{%- endmacro %}

{% macro window_max_date() -%}
    {{ return(var('max_date')) }}
{%- endmacro %}

{#- A predicate on a date expression: inside the window, optionally widened by
    `lookback_days` before its start (for rolling metrics and late completions). -#}
{% macro in_partition_window(date_expr, lookback_days=0) -%}
    {%- if has_partition_window() -%}
        ({{ date_expr }} >= date '{{ var("min_date") }}' - {{ lookback_days }}
         and {{ date_expr }} <= date '{{ var("max_date") }}')
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- A predicate on a timestamptz column, written so an index on it can be used. -#}
{% macro timestamp_in_partition_window(ts_expr, lookback_days=0) -%}
    {%- if has_partition_window() -%}
        ({{ ts_expr }} >= (date '{{ var("min_date") }}' - {{ lookback_days }})::timestamp at time zone 'UTC'
         and {{ ts_expr }} < (date '{{ var("max_date") }}' + 1)::timestamp at time zone 'UTC')
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- One row per day of the window; without a window, every day of `fallback_relation`'s
    `fallback_date_expr` range. -#}
{% macro partition_days(fallback_relation, fallback_date_expr) -%}
    {%- if has_partition_window() -%}
        select generate_series(date '{{ var("min_date") }}', date '{{ var("max_date") }}', interval '1 day')::date as day
    {%- else -%}
        select generate_series(min({{ fallback_date_expr }}), max({{ fallback_date_expr }}), interval '1 day')::date as day
        from {{ fallback_relation }}
    {%- endif -%}
{%- endmacro %}

{#- Day of a timestamptz in UTC, whatever the session time zone. -#}
{% macro utc_date(ts_expr) -%}
    (({{ ts_expr }}) at time zone 'UTC')::date
{%- endmacro %}

{#- Pre-hook of the daily models: a partition run first empties its window's days, in
    the model's own transaction. delete+insert alone replaces only the days the new
    result has rows for, so a day that became empty (rows moved, late corrections)
    would keep its old rows. -#}
{% macro clear_partition_window(day_column='day') -%}
    {%- if is_incremental() and has_partition_window() -%}
        delete from {{ this }}
        where {{ day_column }} between date '{{ var("min_date") }}' and date '{{ var("max_date") }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
