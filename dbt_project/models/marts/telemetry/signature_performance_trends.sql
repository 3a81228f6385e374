-- Daily performance of each DSPy signature (seed 001 "Trend analysis") with a 7-day
-- moving average and the change against the previous day it was recorded.
with daily as (
    select
        signature_name,
        signature_type,
        {{ utc_date('recorded_at') }} as day,
        count(*) as snapshots,
        avg(performance_score) as avg_performance_score,
        avg(success_rate) as avg_success_rate,
        avg(avg_response_time) as avg_response_time,
        max(iterations) as max_iterations,
        bool_or(is_active) as is_active
    from {{ ref('stg_telemetry__signature_metrics') }}
    group by signature_name, signature_type, day
)

select
    day,
    signature_name,
    signature_type,
    snapshots,
    round(avg_performance_score::numeric, 4) as avg_performance_score,
    round(avg_success_rate::numeric, 4) as avg_success_rate,
    round(avg_response_time::numeric, 4) as avg_response_time,
    max_iterations,
    is_active,
    round(avg(avg_performance_score) over (
        partition by signature_name order by day
        range between interval '6 days' preceding and current row
    )::numeric, 4) as performance_score_7d_avg,
    round((avg_performance_score - lag(avg_performance_score) over (
        partition by signature_name order by day
    ))::numeric, 4) as performance_score_change
from daily
