with source as (
    select * from {{ source('raw', 'experiment_assignments') }}
),

renamed as (
    select
        id as assignment_id,
        experiment_id,
        user_id,
        lower(trim(variant)) as variant,
        coalesce(converted, false) as converted,
        assigned_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where assignment_id is not null
    and experiment_id is not null
    and user_id is not null
    and variant in ('control', 'variant')
