with source as (
    select * from {{ source('raw', 'users') }}
),

renamed as (
    select
        id as user_id,
        name as user_name,
        team_id,
        hired_at,
        active as is_active
    from source
)

select * from renamed
