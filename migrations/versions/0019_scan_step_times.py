"""a tracking event says why its step was recorded at another time than the scan's

Revision ID: 0019
Revises: 0018

A step a carrier scan makes takes the scan's own time (``shipping.tracking.step_time``), except a
scan dated after its receipt (beyond ``shipping.scan_future_tolerance``: "future") and one older
than the shipment's last step ("out_of_order"); ``tracking_events.adjusted`` keeps which. The steps
of events received before this revision were recorded at their receipt; those stay unmarked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tracking_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adjusted", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tracking_events", schema=None) as batch_op:
        batch_op.drop_column("adjusted")
