with source as (
    select * from {{ source('raw', 'user_budgets') }}
),

renamed as (
    select
        user_id,
        monthly_budget_usd::numeric(10, 2) as monthly_budget_usd,
        updated_at
    from source
)

select * from renamed
where user_id is not null
    and monthly_budget_usd >= 0
