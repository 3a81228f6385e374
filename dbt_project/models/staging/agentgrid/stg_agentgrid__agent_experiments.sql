with source as (
    select * from {{ source('raw', 'agent_experiments') }}
),

renamed as (
    select
        id as experiment_id,
        agent_id,
        name as experiment_name,
        control_version_id,
        variant_version_id,
        status,
        started_at,
        ended_at
    from source
)

select * from renamed
where experiment_id is not null
