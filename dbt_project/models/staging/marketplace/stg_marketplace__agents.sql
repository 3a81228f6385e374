-- Agents that break the marketplace rules (seed 000: rating 0-5, price 5,000-50,000,
-- a known industry, an existing specialty, required fields present) are dropped here
-- until the quality layer quarantines them upstream.
with source as (
    select * from {{ source('raw', 'agents') }}
),

renamed as (
    select
        id as agent_id,
        name as agent_name,
        specialty_id,
        lower(trim(industry)) as industry,
        price::numeric(10, 2) as price,
        rating::numeric(3, 2) as rating,
        status,
        created_at,
        updated_at
    from source
),

specialties as (
    select specialty_id from {{ ref('stg_marketplace__specialties') }}
)

select renamed.*
from renamed
where agent_id is not null
    and agent_name is not null
    and industry in ({{ "'" ~ var('industries') | join("', '") ~ "'" }})
    and price between 5000 and 50000
    and rating between 0 and 5
    and (specialty_id is null or specialty_id in (select specialty_id from specialties))
