-- Churn features per customer and day (seed 000 get_churn_risk_customers): activity in
-- the trailing window, days since the last task and the outcome of the latest trial that
-- ended. Everything looks back at most churn_inactivity_horizon_days, so a day costs the
-- same whatever the history, and uses only what was known by the end of the day.
{% set activity_days = var('churn_activity_days') %}
{% set horizon_days = var('churn_inactivity_horizon_days') %}

with days as (
    {{ partition_days(ref('stg_marketplace__tasks'), utc_date('created_at')) }}
),

customers as (
    select customer_id, {{ utc_date('signup_at') }} as signup_day
    from {{ ref('stg_marketplace__customers') }}
),

recent_tasks as (
    select
        customer_id,
        {{ utc_date('created_at') }} as task_day,
        rating
    from {{ ref('stg_marketplace__tasks') }}
    where {{ timestamp_in_partition_window('created_at', horizon_days) }}
        and {{ in_partition_window('partition_date', horizon_days) }}
),

-- a trial that ends within the horizon started at most 14 days before it (7- or 14-day trials)
recent_trials as (
    select
        trial_id,
        customer_id,
        trial_end,
        {{ utc_date('trial_end') }} as trial_end_day,
        converted
    from {{ ref('stg_marketplace__trials') }}
    where {{ timestamp_in_partition_window('trial_start', horizon_days + 14) }}
        and {{ in_partition_window('partition_date', horizon_days + 14) }}
),

customer_days as (
    select days.day, customers.customer_id, customers.signup_day
    from days
    inner join customers on customers.signup_day <= days.day
),

features as (
    select
        customer_days.day,
        customer_days.customer_id,
        customer_days.signup_day,
        count(recent_tasks.task_day) filter (
            where recent_tasks.task_day > customer_days.day - {{ activity_days }}
        ) as tasks_last_7d,
        avg(recent_tasks.rating) filter (
            where recent_tasks.task_day > customer_days.day - {{ activity_days }}
        ) as avg_rating_last_7d,
        max(recent_tasks.task_day) as last_task_day
    from customer_days
    left join recent_tasks
        on recent_tasks.customer_id = customer_days.customer_id
        and recent_tasks.task_day <= customer_days.day
        and recent_tasks.task_day > customer_days.day - {{ horizon_days }}
    group by customer_days.day, customer_days.customer_id, customer_days.signup_day
),

-- the latest trial that ended by the day: 1 converted, -1 did not, 0 none within the horizon
trial_outcomes as (
    select distinct on (customer_days.day, customer_days.customer_id)
        customer_days.day,
        customer_days.customer_id,
        case when recent_trials.converted then 1 else -1 end as trial_outcome
    from customer_days
    inner join recent_trials
        on recent_trials.customer_id = customer_days.customer_id
        and recent_trials.trial_end_day <= customer_days.day
        and recent_trials.trial_end_day > customer_days.day - {{ horizon_days }}
    order by customer_days.day, customer_days.customer_id, recent_trials.trial_end desc, recent_trials.trial_id desc
)

select
    features.day,
    features.customer_id,
    tasks_last_7d,
    round(avg_rating_last_7d, 4) as avg_rating_last_7d,
    last_task_day,
    coalesce(
        features.day - last_task_day,
        least(features.day - signup_day, {{ horizon_days }})
    ) as days_inactive,
    features.day - signup_day as tenure_days,
    coalesce(trial_outcomes.trial_outcome, 0) as trial_outcome
from features
left join trial_outcomes
    on trial_outcomes.day = features.day
    and trial_outcomes.customer_id = features.customer_id
