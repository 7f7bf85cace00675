"""a tracking number belongs to one shipment: a unique index

Revision ID: 0021
Revises: 0020

The commands check that a typed or booked number is free (``shipping.steps.refuse_taken_number``),
but two that checked before either committed could both keep it; the unique index makes the second
wait for the first and fail (``shipping.steps.take_number`` refuses it with 422). Shipments that
share a number already cannot be told apart by this revision — which one the parcel is, is the
carrier's to say — so the upgrade stops and names them. Correct them (a shipment handed over and
not shipped yet: ``ordo orders act N ship --shipment S --tracking-number … --override-booking
--reason …``; otherwise in the database) and upgrade again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shared = op.get_bind().execute(sa.text(
        "SELECT tracking_number, count(*) FROM shipments WHERE tracking_number IS NOT NULL "
        "GROUP BY tracking_number HAVING count(*) > 1 ORDER BY tracking_number")).all()
    if shared:
        numbers = ", ".join(f"{number} ({count} shipments)" for number, count in shared[:20])
        raise RuntimeError(f"tracking numbers shared by several shipments: {numbers}; a tracking number "
                           "identifies one parcel: correct them, then upgrade again")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("uq_shipments_tracking_number", ["tracking_number"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("uq_shipments_tracking_number")
