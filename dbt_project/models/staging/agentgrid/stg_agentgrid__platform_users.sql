with source as (
    select * from {{ source('raw', 'platform_users') }}
),

renamed as (
    select
        id as user_id,
        lower(trim(email)) as email,
        name as user_name,
        plan,
        created_at
    from source
)

select * from renamed
where user_id is not null
