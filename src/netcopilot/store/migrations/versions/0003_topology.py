"""topology learned from command outputs: nodes, edges and the observations they came from

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topology_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("node_id"),
    )
    op.create_index("ix_topology_nodes_first_seen", "topology_nodes", ["first_seen"])
    op.create_index("ix_topology_nodes_last_seen", "topology_nodes", ["last_seen"])
    op.create_table(
        "topology_edges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("a", sa.String(length=255), nullable=False),
        sa.Column("b", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["a"], ["topology_nodes.node_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["b"], ["topology_nodes.node_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("a", "b", "kind", name="uq_topology_edge"),
    )
    op.create_index("ix_topology_edges_a", "topology_edges", ["a"])
    op.create_index("ix_topology_edges_b", "topology_edges", ["b"])
    op.create_index("ix_topology_edges_first_seen", "topology_edges", ["first_seen"])
    op.create_index("ix_topology_edges_last_seen", "topology_edges", ["last_seen"])
    op.create_table(
        "topology_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_topology_observations_seen_at", "topology_observations", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_topology_observations_seen_at", table_name="topology_observations")
    op.drop_table("topology_observations")
    for column in ("last_seen", "first_seen", "b", "a"):
        op.drop_index(f"ix_topology_edges_{column}", table_name="topology_edges")
    op.drop_table("topology_edges")
    op.drop_index("ix_topology_nodes_last_seen", table_name="topology_nodes")
    op.drop_index("ix_topology_nodes_first_seen", table_name="topology_nodes")
    op.drop_table("topology_nodes")
