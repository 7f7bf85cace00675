"""review cases record the rule-set version that decided; findings list their related orders

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('review_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rule_set_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('review_findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('related_orders', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('review_findings', schema=None) as batch_op:
        batch_op.drop_column('related_orders')
    with op.batch_alter_table('review_cases', schema=None) as batch_op:
        batch_op.drop_column('rule_set_version')
