with source as (
    select * from {{ source('raw', 'teams') }}
),

renamed as (
    select
        id as team_id,
        name as team_name
    from source
)

select * from renamed
