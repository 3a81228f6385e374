with source as (
    select * from {{ source('raw', 'chat_sessions') }}
),

renamed as (
    select
        id as session_id,
        agent_id,
        user_id,
        title,
        started_at,
        ended_at,
        updated_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where session_id is not null
    and agent_id is not null
    and user_id is not null
