with source as (
    select * from {{ source('raw', 'agent_actions') }}
),

renamed as (
    select
        id as action_record_id,
        action_id,
        agent_id,
        upper(trim(action_type)) as action_type,
        state_before,
        state_after,
        parameters,
        result,
        reward::double precision as reward,
        confidence::double precision as confidence,
        execution_time::double precision as execution_time_seconds,
        upper(trim(environment)) as environment,
        context_hash,
        created_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where action_record_id is not null
    and action_id is not null
