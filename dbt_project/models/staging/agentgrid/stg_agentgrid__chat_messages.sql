-- Malformed metadata JSON is nulled (metadata_is_valid_json = false), not fatal.
with source as (
    select * from {{ source('raw', 'chat_messages') }}
),

renamed as (
    select
        id as message_id,
        session_id,
        lower(trim(role)) as role,
        content_length,
        response_time_ms,
        coalesce(is_error, false) as is_error,
        rag_confidence::double precision as rag_confidence,
        lower(trim(context_coverage)) as context_coverage,
        {{ safe_jsonb('metadata') }} as metadata,
        {{ is_valid_json('metadata') }} as metadata_is_valid_json,
        created_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where message_id is not null
    and session_id is not null
    and (response_time_ms is null or response_time_ms >= 0)
    and (rag_confidence is null or rag_confidence between 0 and 1)
