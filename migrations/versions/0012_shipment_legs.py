"""shipment legs (cross-border: booking, declaration, transport, arrival, customs, last mile)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordo.adapters.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('shipment_legs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('leg', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', ordo.adapters.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', ordo.adapters.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('updated_at', ordo.adapters.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_legs_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_legs')),
    sa.UniqueConstraint('shipment_id', 'leg', name=op.f('uq_shipment_legs_shipment_id_leg'))
    )
    with op.batch_alter_table('shipment_legs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_legs_shipment_id'), ['shipment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shipment_legs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_legs_shipment_id'))
    op.drop_table('shipment_legs')
