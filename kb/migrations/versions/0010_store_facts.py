"""facts about the store itself: its identity, the Q&A bank's revision, the shipped bank last seeded

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The rows are written by the helpdesk when it opens the store (kb.store_state), not here: a store
    # emptied by hand gets a new identity the same way as a new one.
    op.create_table(
        'store_fact',
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('text_value', sa.String(length=200), nullable=True),
        sa.Column('number', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_store_fact')),
    )


def downgrade() -> None:
    op.drop_table('store_fact')
