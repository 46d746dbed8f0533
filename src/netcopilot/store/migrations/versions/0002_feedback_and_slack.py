"""feedback carries intent, model version, VADER score and source; answers carry satisfaction;
posted messages and processed events for Slack

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("satisfaction", sa.Float(), nullable=True))
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=80), nullable=False, server_default=""))
        batch.add_column(sa.Column("intent", sa.String(length=60), nullable=False, server_default=""))
        batch.add_column(sa.Column("model_version", sa.String(length=100), nullable=False, server_default=""))
        batch.create_index("ix_feedback_intent", ["intent"])
        batch.create_index("ix_feedback_model_version", ["model_version"])
        batch.create_index("ix_feedback_created_at", ["created_at"])
    op.create_table(
        "posted_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "channel", "ts", name="uq_posted_message"),
    )
    op.create_index("ix_posted_messages_answer_id", "posted_messages", ["answer_id"])
    op.create_index("ix_posted_messages_thread_ts", "posted_messages", ["thread_ts"])
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_posted_messages_thread_ts", table_name="posted_messages")
    op.drop_index("ix_posted_messages_answer_id", table_name="posted_messages")
    op.drop_table("posted_messages")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("ix_feedback_created_at")
        batch.drop_index("ix_feedback_model_version")
        batch.drop_index("ix_feedback_intent")
        for column in ("model_version", "intent", "source", "score"):
            batch.drop_column(column)
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("satisfaction")
