-- Month-to-date LLM spend against each user's monthly budget (seed 002 budget
-- enforcement), as of every day of the window. Reads at most one month of usage.
with days as (
    {{ partition_days(ref('stg_agentgrid__llm_usage'), utc_date('created_at')) }}
),

daily_spend as (
    select
        day,
        user_id,
        sum(total_cost_usd) as cost_usd
    from (
        select
            {{ utc_date('usage.created_at') }} as day,
            usage.user_id,
            {{ llm_call_cost('usage.prompt_tokens', 'usage.completion_tokens',
                             'pricing.prompt_usd_per_1k', 'pricing.completion_usd_per_1k') }} as total_cost_usd
        from {{ ref('stg_agentgrid__llm_usage') }} as usage
        left join {{ ref('llm_pricing') }} as pricing
            on pricing.provider = usage.provider
            and pricing.model = usage.model
        where usage.user_id is not null
            and {{ timestamp_in_partition_window('usage.created_at', 31) }}
            and {{ in_partition_window('usage.partition_date', 31) }}
    ) as calls
    group by day, user_id
),

users as (
    select users.user_id, budgets.monthly_budget_usd
    from {{ ref('stg_agentgrid__platform_users') }} as users
    left join {{ ref('stg_agentgrid__user_budgets') }} as budgets
        on budgets.user_id = users.user_id
),

month_to_date as (
    select
        days.day,
        users.user_id,
        users.monthly_budget_usd,
        coalesce(sum(daily_spend.cost_usd), 0) as mtd_spend_usd,
        coalesce(sum(daily_spend.cost_usd) filter (where daily_spend.day = days.day), 0) as day_spend_usd
    from days
    cross join users
    left join daily_spend
        on daily_spend.user_id = users.user_id
        and daily_spend.day between date_trunc('month', days.day)::date and days.day
    group by days.day, users.user_id, users.monthly_budget_usd
)

select
    day,
    date_trunc('month', day)::date as month,
    user_id,
    monthly_budget_usd,
    day_spend_usd::numeric(14, 6) as day_spend_usd,
    mtd_spend_usd::numeric(14, 6) as mtd_spend_usd,
    (monthly_budget_usd - mtd_spend_usd)::numeric(14, 6) as budget_remaining_usd,
    round({{ safe_divide('mtd_spend_usd', 'monthly_budget_usd') }}, 4) as budget_used_share,
    coalesce(mtd_spend_usd > monthly_budget_usd, false) as over_budget
from month_to_date
