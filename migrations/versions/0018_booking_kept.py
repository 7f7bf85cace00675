"""the booking made at hand-over keeps its service and whether its tracking number was made up

Revision ID: 0018
Revises: 0017

A ship request must keep the booking (``shipping.steps.keep_booking``): it compares the carrier,
the service and the tracking number with what hand-over booked, and only a number a manual carrier
made up (none typed) may be replaced without an override. Bookings made before this revision were
made with the order's service type, and a made-up number is the carrier's prefix (its code in
capitals without underscores) followed by the shipment number without hyphens.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SERVICE = sa.text("""
UPDATE shipment_shipping
   SET booked_service = (SELECT o.service_type FROM shipments s JOIN orders o ON o.id = s.order_id
                          WHERE s.id = shipment_shipping.shipment_id)
 WHERE booked_carrier IS NOT NULL
""")

_PLACEHOLDER = sa.text("""
UPDATE shipment_shipping
   SET booked_placeholder = :yes
 WHERE booked_carrier IS NOT NULL
   AND EXISTS (SELECT 1 FROM shipments s
                WHERE s.id = shipment_shipping.shipment_id
                  AND s.tracking_number = UPPER(REPLACE(shipment_shipping.booked_carrier, '_', ''))
                                          || REPLACE(s.number, '-', ''))
""").bindparams(yes=True)


def upgrade() -> None:
    with op.batch_alter_table("shipment_shipping", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booked_service", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("booked_placeholder", sa.Boolean(), nullable=False, server_default=sa.false()))
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> None:
    """The service and the placeholder flag of the bookings made before this revision."""
    conn.execute(_SERVICE)
    conn.execute(_PLACEHOLDER)


def downgrade() -> None:
    with op.batch_alter_table("shipment_shipping", schema=None) as batch_op:
        batch_op.drop_column("booked_placeholder")
        batch_op.drop_column("booked_service")
