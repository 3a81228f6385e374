-- Daily customer behaviour for the BigQuery export (seed 000 BigQuerySync): each
-- customer's activity of the day and the churn features as of that day.
with features as (
    select * from {{ ref('customer_churn_features') }}
    where {{ in_partition_window('day') }}
),

day_tasks as (
    select
        {{ utc_date('created_at') }} as day,
        customer_id,
        count(*) as tasks_created,
        count(*) filter (where status = 'completed') as tasks_completed,
        coalesce(sum(revenue) filter (where status = 'completed'), 0) as revenue
    from {{ ref('stg_marketplace__tasks') }}
    where {{ timestamp_in_partition_window('created_at') }}
        and {{ in_partition_window('partition_date') }}
    group by 1, 2
),

customers as (
    select customer_id, industry, status from {{ ref('stg_marketplace__customers') }}
)

select
    features.day,
    features.customer_id,
    customers.industry,
    customers.status as customer_status,
    coalesce(day_tasks.tasks_created, 0) as tasks_created,
    coalesce(day_tasks.tasks_completed, 0) as tasks_completed,
    coalesce(day_tasks.revenue, 0)::numeric(14, 2) as revenue,
    features.tasks_last_7d,
    features.avg_rating_last_7d,
    features.days_inactive,
    features.tenure_days
from features
left join day_tasks
    on day_tasks.day = features.day
    and day_tasks.customer_id = features.customer_id
left join customers on customers.customer_id = features.customer_id
