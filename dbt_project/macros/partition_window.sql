{#- The partition window of a run: days [window_start, window_end], both inclusive.

    Dagster passes it as session settings of dbt's connections (PGOPTIONS
    "-c platform.window_start=YYYY-MM-DD -c platform.window_end=YYYY-MM-DD"), not as --vars:
    the compiled SQL is then the same for every partition, and dbt's partial parse stays
    valid from run to run (changing --vars forces a full re-parse, 5-10 s per invocation
    here). By hand, `--vars '{min_date: ..., max_date: ...}'` sets the same window. With
    neither, an incremental model reprocesses everything it can see, so a plain `dbt build`
    is always complete. -#}

{% macro window_start() -%}
    {%- if var('min_date', none) is not none -%}
        date '{{ var("min_date") }}'
    {%- else -%}
        nullif(current_setting('platform.window_start', true), '')::date
    {%- endif -%}
{%- endmacro %}

{% macro window_end() -%}
    {%- if var('max_date', none) is not none -%}
        date '{{ var("max_date") }}'
    {%- else -%}
        nullif(current_setting('platform.window_end', true), '')::date
    {%- endif -%}
{%- endmacro %}

{#- A predicate on a date expression: inside the window, optionally widened by
    `lookback_days` before its start (for rolling metrics and late completions); true for
    every row without a window. Stable expressions only, so an index on the column is used. -#}
{% macro in_partition_window(date_expr, lookback_days=0) -%}
    ({{ date_expr }} >= coalesce({{ window_start() }} - {{ lookback_days }}, '-infinity'::date)
     and {{ date_expr }} <= coalesce({{ window_end() }}, 'infinity'::date))
{%- endmacro %}

{#- A predicate on a timestamptz column, written so an index on it can be used. -#}
{% macro timestamp_in_partition_window(ts_expr, lookback_days=0) -%}
    ({{ ts_expr }} >= coalesce(({{ window_start() }} - {{ lookback_days }})::timestamp at time zone 'UTC',
                               '-infinity'::timestamptz)
     and {{ ts_expr }} < coalesce(({{ window_end() }} + 1)::timestamp at time zone 'UTC', 'infinity'::timestamptz))
{%- endmacro %}

{#- One row per day of the window; without a window, every day of `fallback_relation`'s
    `fallback_date_expr` range (the scalar subqueries only run when the window is unset). -#}
{% macro partition_days(fallback_relation, fallback_date_expr) -%}
    select generate_series(
        coalesce({{ window_start() }}, (select min({{ fallback_date_expr }}) from {{ fallback_relation }})),
        coalesce({{ window_end() }}, (select max({{ fallback_date_expr }}) from {{ fallback_relation }})),
        interval '1 day'
    )::date as day
{%- endmacro %}

{#- Day of a timestamptz in UTC, whatever the session time zone. -#}
{% macro utc_date(ts_expr) -%}
    (({{ ts_expr }}) at time zone 'UTC')::date
{%- endmacro %}

{#- Pre-hook of the daily models: a partition run first empties its window's days, in
    the model's own transaction. delete+insert alone replaces only the days the new
    result has rows for, so a day that became empty (rows moved, late corrections)
    would keep its old rows. Without a window nothing is deleted. -#}
{% macro clear_partition_window(day_column='day') -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ window_start() }} is not null
            and {{ day_column }} between {{ window_start() }} and {{ window_end() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
