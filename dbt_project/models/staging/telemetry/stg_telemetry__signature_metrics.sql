with source as (
    select * from {{ source('raw', 'signature_metrics') }}
),

renamed as (
    select
        id as signature_metric_id,
        signature_name,
        signature_type,
        performance_score::double precision as performance_score,
        success_rate::double precision as success_rate,
        avg_response_time::double precision as avg_response_time,
        memory_usage_mb,
        iterations,
        active as is_active,
        recorded_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where signature_metric_id is not null
    and signature_name is not null
