with source as (
    select * from {{ source('raw', 'statuses') }}
),

renamed as (
    select
        id as status_id,
        name as status_name,
        category as status_category,
        active as is_active
    from source
)

select * from renamed
