with source as (
    select * from {{ source('raw', 'training_metrics') }}
),

renamed as (
    select
        id as training_metric_id,
        session_id as training_session_id,
        epoch,
        training_accuracy::double precision as training_accuracy,
        validation_accuracy::double precision as validation_accuracy,
        loss::double precision as loss,
        learning_rate::double precision as learning_rate,
        batch_size,
        model_type,
        upper(trim(environment)) as environment,
        hyperparameters,
        recorded_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where training_metric_id is not null
    and training_session_id is not null
    and epoch is not null
