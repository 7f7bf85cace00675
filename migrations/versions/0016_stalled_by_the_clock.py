"""stalled parcels are the no-movement clock's breaches: in-flight clocks restarted, the flag dropped

Revision ID: 0016
Revises: 0015

Carrier scans now restart the ``tracking_stalled`` clock (event ``shipment.moved``), and a
shipment is stalled while that clock is breached. Before, only shipment steps restarted the
clock, and a stalled scan of its own compared ``shipment_shipping.last_movement_at`` (carrier
scans) with the limit and kept a flag, ``stalled_at``. So that parcels in transit at the upgrade
are not alerted on clocks their scans should have restarted, an open clock whose shipment was
scanned after the clock started counts from that scan: it is set ``unscheduled`` from there, and
the next SLA scan places its deadline on the calendar with the policy's limit (which a migration
does not read). Breached clocks are left as they are: their alert went out, and the next movement
stops them and starts a fresh clock. The flag and the index of the old scan go; the clock's
status is the flag now.

The restarted clocks are not put back by the downgrade, and the flag comes back empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordo.adapters.db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RESTART = sa.text("""
UPDATE sla_clocks
   SET started_at = (SELECT r.last_movement_at FROM shipment_shipping r WHERE r.shipment_id = sla_clocks.entity_id),
       status = 'unscheduled', deadline = NULL
 WHERE step = 'tracking_stalled' AND entity = 'shipment' AND status = 'open'
   AND EXISTS (SELECT 1 FROM shipment_shipping r
                WHERE r.shipment_id = sla_clocks.entity_id AND r.last_movement_at > sla_clocks.started_at)
""")


def restart_in_flight(bind: sa.Connection) -> None:
    bind.execute(_RESTART)


def upgrade() -> None:
    restart_in_flight(op.get_bind())
    with op.batch_alter_table("shipment_shipping", schema=None) as batch_op:
        batch_op.drop_index("ix_shipment_shipping_stall")
        batch_op.drop_column("stalled_at")


def downgrade() -> None:
    with op.batch_alter_table("shipment_shipping", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stalled_at", ordo.adapters.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_shipment_shipping_stall", ["stalled_at", "last_movement_at"], unique=False)
