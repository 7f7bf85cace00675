"""indexes for reading an order's lines and for the foreign keys of shipment lines and follow-up tasks

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 14:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index("ix_order_lines_order", ["order_id", "line_no"], unique=False)
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_lines_order_line_id"), ["order_line_id"], unique=False)
    with op.batch_alter_table("followup_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_tasks_shipment_id"), ["shipment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("followup_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followup_tasks_shipment_id"))
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_lines_order_line_id"))
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_order_lines_order")
