with source as (
    select * from {{ source('raw', 'issues') }}
),

renamed as (
    select
        id as issue_id,
        key as issue_key,
        summary,
        issuetype_id,
        status_id,
        epic_id,
        assignee_id,
        story_points,
        comment_count,
        created as created_at,
        work_first_started_at,
        work_last_completed_at,
        total_lead_time_seconds,
        active as is_active,
        updated_at
    from source
)

select * from renamed
