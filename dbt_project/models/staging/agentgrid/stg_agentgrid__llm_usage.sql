-- One row per LLM call, from chat and from the platform's own agents (agent_name,
-- request_id). Provider and model are normalised so they join the pricing seed.
with source as (
    select * from {{ source('raw', 'llm_usage') }}
),

renamed as (
    select
        id as llm_call_id,
        session_id,
        message_id,
        agent_id,
        user_id,
        agent_name,
        request_id,
        lower(trim(provider)) as provider,
        lower(trim(model)) as model,
        prompt_tokens,
        completion_tokens,
        prompt_tokens + completion_tokens as total_tokens,
        latency_ms,
        lower(status) as status,
        created_at,
        _partition_date as partition_date
    from source
)

select * from renamed
where llm_call_id is not null
    and provider is not null
    and model is not null
    and prompt_tokens >= 0
    and completion_tokens >= 0
