"""Engineering (seed 003): teams, users, issue types, statuses, issues, repositories, pull requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE teams (
            id    integer PRIMARY KEY,
            name  text NOT NULL UNIQUE
        );

        CREATE TABLE users (
            id          integer PRIMARY KEY,
            name        text NOT NULL,
            email       text NOT NULL,
            team_id     integer NOT NULL REFERENCES teams (id),
            hired_at    timestamptz NOT NULL,
            active      boolean NOT NULL DEFAULT true
        );
        CREATE INDEX ix_users_team_id ON users (team_id);

        CREATE TABLE issuetypes (
            id             integer PRIMARY KEY,
            original_name  text NOT NULL UNIQUE,
            active         boolean NOT NULL DEFAULT true
        );

        CREATE TABLE statuses (
            id        integer PRIMARY KEY,
            name      text NOT NULL UNIQUE,
            category  text NOT NULL CHECK (category IN ('To Do', 'In Progress', 'Done')),
            active    boolean NOT NULL DEFAULT true
        );

        CREATE TABLE issues (
            id                       bigint PRIMARY KEY,
            key                      text NOT NULL UNIQUE,
            summary                  text NOT NULL,
            issuetype_id             integer NOT NULL REFERENCES issuetypes (id),
            status_id                integer NOT NULL REFERENCES statuses (id),
            epic_id                  bigint REFERENCES issues (id),
            assignee_id              integer REFERENCES users (id),
            story_points             integer,
            comment_count            integer NOT NULL DEFAULT 0,
            created                  timestamptz NOT NULL,
            work_first_started_at    timestamptz,
            work_last_completed_at   timestamptz,
            total_lead_time_seconds  bigint,
            active                   boolean NOT NULL DEFAULT true,
            updated_at               timestamptz NOT NULL
        );
        CREATE INDEX ix_issues_issuetype_id ON issues (issuetype_id);
        CREATE INDEX ix_issues_status_id ON issues (status_id);
        CREATE INDEX ix_issues_epic_id ON issues (epic_id);
        CREATE INDEX ix_issues_assignee_id ON issues (assignee_id);
        CREATE INDEX ix_issues_created ON issues (created);
        CREATE INDEX ix_issues_epic_trajectory ON issues (issuetype_id, created) WHERE active;
        CREATE INDEX ix_issues_complexity ON issues (story_points, created) WHERE story_points IS NOT NULL;

        CREATE TABLE repositories (
            id    integer PRIMARY KEY,
            name  text NOT NULL UNIQUE
        );

        CREATE TABLE pull_requests (
            id                   bigint PRIMARY KEY,
            repository_id        integer NOT NULL REFERENCES repositories (id),
            issue_id             bigint REFERENCES issues (id),
            author_id            integer NOT NULL REFERENCES users (id),
            number               integer NOT NULL,
            title                text NOT NULL,
            commit_count         integer NOT NULL,
            changed_files        integer NOT NULL,
            additions            integer NOT NULL,
            deletions            integer NOT NULL,
            has_tests            boolean NOT NULL,
            review_cycles        integer,
            rework_commit_count  integer,
            created_at           timestamptz NOT NULL,
            merged_at            timestamptz,
            active               boolean NOT NULL DEFAULT true,
            updated_at           timestamptz NOT NULL,
            UNIQUE (repository_id, number)
        );
        CREATE INDEX ix_pull_requests_issue_id ON pull_requests (issue_id);
        CREATE INDEX ix_pull_requests_author_id ON pull_requests (author_id);
        CREATE INDEX ix_pull_requests_created_at ON pull_requests (created_at);
        CREATE INDEX ix_pull_requests_rework ON pull_requests (merged_at, review_cycles) WHERE active;
        CREATE INDEX ix_pull_requests_open ON pull_requests (created_at) WHERE merged_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE pull_requests; DROP TABLE repositories; DROP TABLE issues; DROP TABLE statuses; "
        "DROP TABLE issuetypes; DROP TABLE users; DROP TABLE teams;"
    )
