with source as (
    select * from {{ source('raw', 'specialties') }}
),

renamed as (
    select
        id as specialty_id,
        name as specialty_name,
        lower(trim(industry)) as industry,
        created_at
    from source
)

select * from renamed
where specialty_id is not null
