-- Learning progress per training session (seed 001 get_learning_progress): where the
-- session started and ended, its best validation epoch and the train/validation gap.
with epochs as (
    select
        *,
        row_number() over (partition by training_session_id order by epoch) as epoch_asc,
        row_number() over (partition by training_session_id order by epoch desc) as epoch_desc,
        row_number() over (
            partition by training_session_id order by validation_accuracy desc nulls last, epoch
        ) as validation_rank
    from {{ ref('stg_telemetry__training_metrics') }}
)

select
    training_session_id,
    max(model_type) as model_type,
    max(environment) as environment,
    count(*) as epochs,
    min(recorded_at) as started_at,
    max(recorded_at) as finished_at,
    round(max(training_accuracy) filter (where epoch_asc = 1)::numeric, 6) as initial_training_accuracy,
    round(max(training_accuracy) filter (where epoch_desc = 1)::numeric, 6) as final_training_accuracy,
    round(max(validation_accuracy) filter (where epoch_asc = 1)::numeric, 6) as initial_validation_accuracy,
    round(max(validation_accuracy) filter (where epoch_desc = 1)::numeric, 6) as final_validation_accuracy,
    round(max(validation_accuracy)::numeric, 6) as best_validation_accuracy,
    max(epoch) filter (where validation_rank = 1) as best_validation_epoch,
    round(max(loss) filter (where epoch_asc = 1)::numeric, 6) as initial_loss,
    round(max(loss) filter (where epoch_desc = 1)::numeric, 6) as final_loss,
    round((max(validation_accuracy) filter (where epoch_desc = 1)
        - max(validation_accuracy) filter (where epoch_asc = 1))::numeric, 6) as validation_accuracy_gain,
    round((max(training_accuracy) filter (where epoch_desc = 1)
        - max(validation_accuracy) filter (where epoch_desc = 1))::numeric, 6) as generalisation_gap
from epochs
group by training_session_id
