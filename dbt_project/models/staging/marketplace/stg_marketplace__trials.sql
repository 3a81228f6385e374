-- Trials need both parties to exist and a positive length (trial_end > trial_start).
with source as (
    select * from {{ source('raw', 'trials') }}
),

renamed as (
    select
        id as trial_id,
        customer_id,
        agent_id,
        trial_start,
        trial_end,
        coalesce(converted, false) as converted,
        created_at,
        updated_at,
        _partition_date as partition_date
    from source
)

select renamed.*
from renamed
where trial_id is not null
    and customer_id is not null
    and agent_id is not null
    and trial_start is not null
    and trial_end is not null
    and trial_end > trial_start
    and agent_id in (select agent_id from {{ ref('stg_marketplace__agents') }})
    and customer_id in (select customer_id from {{ ref('stg_marketplace__customers') }})
