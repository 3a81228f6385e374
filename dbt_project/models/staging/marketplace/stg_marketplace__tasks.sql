-- One row per task_ref: a client retry or a late update re-sends a task as a new row,
-- and the latest version (by updated_at, then id) is the task. The anti-join keeps the
-- view filterable: predicates on created_at/partition_date reach the raw scan, so a
-- one-day query does not deduplicate the whole history.
-- Rows breaking the obvious rules are dropped; a malformed JSON payload is nulled
-- (payload_is_valid_json says so) rather than failing every model downstream.
with source as (
    select * from {{ source('raw', 'tasks') }}
),

latest as (
    select source.*
    from source
    where not exists (
        select 1
        from {{ source('raw', 'tasks') }} as newer
        where newer.task_ref = source.task_ref
            and (newer.updated_at, newer.id) > (source.updated_at, source.id)
    )
),

renamed as (
    select
        id as task_id,
        task_ref,
        agent_id,
        customer_id,
        lower(trim(status)) as status,
        rating::numeric(3, 2) as rating,
        revenue::numeric(12, 2) as revenue,
        {{ safe_jsonb('payload') }} as payload,
        {{ is_valid_json('payload') }} as payload_is_valid_json,
        created_at,
        completed_at,
        updated_at,
        _partition_date as partition_date,
        _extracted_at as extracted_at
    from latest
)

select renamed.*
from renamed
where task_ref is not null
    and agent_id is not null
    and customer_id is not null
    and status is not null
    and (rating is null or rating between 0 and 5)
    and (revenue is null or revenue >= 0)
    -- A completion is an update. A completion in the future is the quarantine's rule
    -- (completed_at_not_future, with its clock-skew allowance): bounding it here by the
    -- extraction instant too dropped, silently, rows the quarantine had let through.
    and (completed_at is null or completed_at between created_at and updated_at)
    and agent_id in (select agent_id from {{ ref('stg_marketplace__agents') }})
    and customer_id in (select customer_id from {{ ref('stg_marketplace__customers') }})
