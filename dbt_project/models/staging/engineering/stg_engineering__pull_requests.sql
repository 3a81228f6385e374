with source as (
    select * from {{ source('raw', 'pull_requests') }}
),

renamed as (
    select
        id as pull_request_id,
        repository_id,
        issue_id,
        author_id,
        number as pull_request_number,
        title,
        commit_count,
        changed_files,
        additions,
        deletions,
        has_tests,
        review_cycles,
        rework_commit_count,
        created_at,
        merged_at,
        active as is_active,
        updated_at
    from source
)

select * from renamed
