-- Churn features per customer and day (seed 000 get_churn_risk_customers): activity in
-- the trailing window and days since the last task. "Days inactive" looks back at most
-- churn_inactivity_horizon_days, so a day costs the same whatever the history.
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
)

select
    day,
    customer_id,
    tasks_last_7d,
    round(avg_rating_last_7d, 4) as avg_rating_last_7d,
    last_task_day,
    coalesce(
        day - last_task_day,
        least(day - signup_day, {{ horizon_days }})
    ) as days_inactive,
    day - signup_day as tenure_days
from features
