with source as (
    select * from {{ source('raw', 'issuetypes') }}
),

renamed as (
    select
        id as issuetype_id,
        original_name as issuetype_name,
        active as is_active
    from source
)

select * from renamed
