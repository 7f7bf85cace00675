"""at most one open reorder alert per SKU (total) and per SKU and warehouse

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOTAL = "cleared_at IS NULL AND warehouse_id IS NULL"
PER_WAREHOUSE = "cleared_at IS NULL AND warehouse_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("reorder_alerts", schema=None) as batch_op:
        batch_op.create_index("uq_reorder_alerts_open_total", ["sku_id"], unique=True,
                              postgresql_where=sa.text(TOTAL), sqlite_where=sa.text(TOTAL))
        batch_op.create_index("uq_reorder_alerts_open_warehouse", ["sku_id", "warehouse_id"], unique=True,
                              postgresql_where=sa.text(PER_WAREHOUSE), sqlite_where=sa.text(PER_WAREHOUSE))


def downgrade() -> None:
    with op.batch_alter_table("reorder_alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_reorder_alerts_open_warehouse")
        batch_op.drop_index("uq_reorder_alerts_open_total")
