"""goods that may serve waiting orders, noted by the command that freed them

Revision ID: 0020
Revises: 0019

A receipt, a cancel's released reservations or an order that stopped waiting no longer serves the
backorder queue in its own transaction (which held every waiting order while it waited for their
stock rows): it writes a row here, and the queue is served in a transaction of its own after the
commit, or by the worker's next round (``order.backorders.serve_woken``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordo.adapters.db.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backorder_wakeups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("created_at", ordo.adapters.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_backorder_wakeups_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backorder_wakeups")),
    )
    with op.batch_alter_table("backorder_wakeups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backorder_wakeups_sku_id"), ["sku_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backorder_wakeups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backorder_wakeups_sku_id"))
    op.drop_table("backorder_wakeups")
