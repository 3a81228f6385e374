-- Verifier accuracy per verifier and day (seed 001 VerifierMetrics). True negatives are
-- the checks that were neither a hit nor an error: checks - TP - FP - FN (floored at 0).
with daily as (
    select
        verifier_name,
        {{ utc_date('recorded_at') }} as day,
        count(*) as runs,
        sum(checks_performed) as checks_performed,
        sum(issues_found) as issues_found,
        sum(true_positives) as true_positives,
        sum(false_positives) as false_positives,
        sum(false_negatives) as false_negatives,
        sum(greatest(checks_performed - true_positives - false_positives - false_negatives, 0)) as true_negatives,
        avg(avg_execution_time) as avg_execution_time
    from {{ ref('stg_telemetry__verifier_metrics') }}
    group by verifier_name, day
)

select
    day,
    verifier_name,
    runs,
    checks_performed,
    issues_found,
    true_positives,
    false_positives,
    false_negatives,
    true_negatives,
    round({{ safe_divide('true_positives + true_negatives', 'checks_performed') }}, 6) as accuracy,
    round({{ safe_divide('true_positives', 'true_positives + false_positives') }}, 6) as precision,
    round({{ safe_divide('true_positives', 'true_positives + false_negatives') }}, 6) as recall,
    round({{ safe_divide('false_positives', 'false_positives + true_negatives') }}, 6) as false_positive_rate,
    round({{ safe_divide('false_negatives', 'false_negatives + true_positives') }}, 6) as false_negative_rate,
    round(avg_execution_time::numeric, 4) as avg_execution_time
from daily
