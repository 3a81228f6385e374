with source as (
    select * from {{ source('raw', 'customers') }}
),

renamed as (
    select
        id as customer_id,
        name as customer_name,
        lower(trim(email)) as email,
        company,
        lower(trim(industry)) as industry,
        signup_at,
        last_login_at,
        status,
        -- the app sets status 'churned' when a customer leaves; updated_at is when
        case when status = 'churned' then updated_at end as churned_at,
        created_at,
        updated_at
    from source
)

select * from renamed
where customer_id is not null
    and signup_at is not null
