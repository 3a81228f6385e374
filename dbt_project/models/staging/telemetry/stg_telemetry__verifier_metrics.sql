with source as (
    select * from {{ source('raw', 'verifier_metrics') }}
),

renamed as (
    select
        id as verifier_metric_id,
        verifier_name,
        status,
        checks_performed,
        issues_found,
        true_positives,
        false_positives,
        false_negatives,
        avg_execution_time::double precision as avg_execution_time,
        recorded_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where verifier_metric_id is not null
    and verifier_name is not null
    and checks_performed >= 0
    and least(true_positives, false_positives, false_negatives) >= 0
