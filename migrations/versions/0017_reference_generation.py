"""the reference generation: one row that every write to SKUs, shops, warehouses or review rule sets moves on

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 16:40:00

Each process keeps copies of those tables and uses them while the generation stays the same
(``ordo.adapters.db.reference``). Triggers move it on, so that a write from anywhere — another
process, the CLI, plain SQL — ends the copies: the number grows by one and the token becomes a new
random number (a generation seen in a transaction that was rolled back is never seen again).
PostgreSQL: one statement-level trigger per table (TRUNCATE included); SQLite, whose triggers are
per row: one per table and kind of write.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("skus", "shops", "warehouses", "review_rule_sets")
_BUMP = "UPDATE reference_generation SET number = number + 1, token = random() WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "reference_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_generation")),
    )
    op.execute("INSERT INTO reference_generation (id, number, token) VALUES (1, 0, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION reference_generation_bump() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {_BUMP}; RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_reference_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reference_generation_bump()")
        return
    for table in TABLES:
        for write in ("insert", "update", "delete"):
            op.execute(f"CREATE TRIGGER {table}_reference_generation_{write} AFTER {write.upper()} ON {table} "
                       f"BEGIN {_BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS reference_generation_bump()")
    else:
        for table in TABLES:
            for write in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_generation_{write}")
    op.drop_table("reference_generation")
