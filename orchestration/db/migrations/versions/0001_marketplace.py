"""Marketplace: specialties, agents, customers, trials, tasks.

Some references are *logical* (not enforced by the app database): the marketplace
service writes tasks and trials for customers and agents that live in other
services, so orphans can and do happen. They are indexed like every foreign key,
and the quality layer checks them (see quality/).

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE specialties (
            id          integer PRIMARY KEY,
            name        text NOT NULL UNIQUE,
            industry    text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE agents (
            id            integer PRIMARY KEY,
            name          text,
            specialty_id  integer,               -- logical reference to specialties
            industry      text,
            price         numeric(10, 2),
            rating        numeric(3, 2),
            status        text NOT NULL DEFAULT 'active',
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_agents_specialty_id ON agents (specialty_id);
        CREATE INDEX ix_agents_industry_rating ON agents (industry, rating DESC);
        CREATE INDEX ix_agents_active ON agents (industry) WHERE status = 'active';

        CREATE TABLE customers (
            id             integer PRIMARY KEY,
            name           text,
            email          text,
            company        text,
            industry       text,
            signup_at      timestamptz NOT NULL,
            last_login_at  timestamptz,
            status         text NOT NULL DEFAULT 'active',
            created_at     timestamptz NOT NULL DEFAULT now(),
            updated_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_customers_active ON customers (last_login_at) WHERE status = 'active';

        CREATE TABLE trials (
            id           bigint PRIMARY KEY,
            customer_id  integer,                -- logical reference to customers
            agent_id     integer,                -- logical reference to agents
            trial_start  timestamptz,
            trial_end    timestamptz,
            converted    boolean NOT NULL DEFAULT false,
            created_at   timestamptz NOT NULL,
            updated_at   timestamptz NOT NULL
        );
        CREATE INDEX ix_trials_customer_id ON trials (customer_id);
        CREATE INDEX ix_trials_agent_id ON trials (agent_id);
        CREATE INDEX ix_trials_created_at ON trials (created_at);
        CREATE INDEX ix_trials_converted ON trials (agent_id) WHERE converted;

        CREATE TABLE tasks (
            id            bigint PRIMARY KEY,
            task_ref      text,                  -- the app's natural key (not enforced upstream)
            agent_id      integer,               -- logical reference to agents
            customer_id   integer,               -- logical reference to customers
            status        text,
            rating        numeric(3, 2),
            revenue       numeric(12, 2),
            payload       text,                  -- JSON as sent by the client, unvalidated
            created_at    timestamptz NOT NULL,
            completed_at  timestamptz,
            updated_at    timestamptz NOT NULL
        );
        CREATE INDEX ix_tasks_agent_id ON tasks (agent_id);
        CREATE INDEX ix_tasks_customer_id ON tasks (customer_id);
        CREATE INDEX ix_tasks_created_at ON tasks (created_at);
        CREATE INDEX ix_tasks_updated_at ON tasks (updated_at);
        CREATE INDEX ix_tasks_task_ref ON tasks (task_ref);
        CREATE INDEX ix_tasks_completed ON tasks (agent_id, completed_at) WHERE status = 'completed';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE tasks; DROP TABLE trials; DROP TABLE customers; DROP TABLE agents; DROP TABLE specialties;")
