"""Agent telemetry (seed 001): actions, signature/verifier/training metrics, code embeddings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

EMBEDDING_DIMENSIONS = 16


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        f"""
        CREATE TABLE agent_actions (
            id              bigint PRIMARY KEY,
            action_id       uuid NOT NULL UNIQUE,
            agent_id        integer REFERENCES agents (id),
            action_type     text NOT NULL,
            state_before    jsonb,
            state_after     jsonb,
            parameters      jsonb,
            result          jsonb,
            reward          real,
            confidence      real,
            execution_time  real,
            environment     text NOT NULL,
            context_hash    text,
            created_at      timestamptz NOT NULL
        );
        CREATE INDEX ix_agent_actions_agent_id ON agent_actions (agent_id);
        CREATE INDEX ix_agent_actions_created_at ON agent_actions (created_at);
        CREATE INDEX ix_agent_actions_high_reward ON agent_actions (created_at) WHERE reward >= 0.8;

        CREATE TABLE signature_metrics (
            id                 bigint PRIMARY KEY,
            signature_name     text NOT NULL,
            signature_type     text NOT NULL,
            performance_score  real,
            success_rate       real,
            avg_response_time  real,
            memory_usage_mb    integer,
            iterations         integer,
            active             boolean NOT NULL DEFAULT true,
            recorded_at        timestamptz NOT NULL
        );
        CREATE INDEX ix_signature_metrics_recorded_at ON signature_metrics (recorded_at);
        CREATE INDEX ix_signature_metrics_active ON signature_metrics (signature_name) WHERE active;

        CREATE TABLE verifier_metrics (
            id                  bigint PRIMARY KEY,
            verifier_name       text NOT NULL,
            status              text NOT NULL,
            checks_performed    integer NOT NULL,
            issues_found        integer NOT NULL,
            true_positives      integer NOT NULL,
            false_positives     integer NOT NULL,
            false_negatives     integer NOT NULL,
            avg_execution_time  real,
            recorded_at         timestamptz NOT NULL
        );
        CREATE INDEX ix_verifier_metrics_recorded_at ON verifier_metrics (recorded_at);

        CREATE TABLE training_metrics (
            id                   bigint PRIMARY KEY,
            session_id           text NOT NULL,
            epoch                integer NOT NULL,
            training_accuracy    real,
            validation_accuracy  real,
            loss                 real,
            learning_rate        real,
            batch_size           integer,
            model_type           text,
            environment          text NOT NULL,
            hyperparameters      jsonb,
            recorded_at          timestamptz NOT NULL,
            UNIQUE (session_id, epoch)
        );
        CREATE INDEX ix_training_metrics_recorded_at ON training_metrics (recorded_at);

        CREATE TABLE code_embeddings (
            id           bigint PRIMARY KEY,
            source_type  text NOT NULL,
            source_path  text,
            chunk_start  integer,
            chunk_end    integer,
            embedding    vector({EMBEDDING_DIMENSIONS}) NOT NULL,
            metadata     jsonb,
            created_at   timestamptz NOT NULL
        );
        CREATE INDEX ix_code_embeddings_created_at ON code_embeddings (created_at);
        CREATE INDEX ix_code_embeddings_embedding ON code_embeddings USING hnsw (embedding vector_cosine_ops);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE code_embeddings; DROP TABLE training_metrics; DROP TABLE verifier_metrics; "
        "DROP TABLE signature_metrics; DROP TABLE agent_actions;"
    )
