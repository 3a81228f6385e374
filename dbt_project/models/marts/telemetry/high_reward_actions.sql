-- Agent actions worth learning from (seed 001 get_recent_high_reward_actions): reward
-- at or above the high_reward_threshold var (0.8).
select
    action_id,
    agent_id,
    action_type,
    environment,
    reward,
    confidence,
    execution_time_seconds,
    parameters,
    result,
    context_hash,
    created_at,
    {{ utc_date('created_at') }} as day
from {{ ref('stg_telemetry__agent_actions') }}
where reward >= {{ var('high_reward_threshold') }}
