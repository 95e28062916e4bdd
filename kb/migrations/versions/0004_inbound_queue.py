"""store first, decide second: inbound mail is queued, processed by workers, quarantined after N failures;
a query remembers who referred it

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_email') as batch:
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch.create_index('ix_raw_email_outcome', ['outcome'])
    with op.batch_alter_table('query') as batch:
        batch.add_column(sa.Column('referred_by', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('query') as batch:
        batch.drop_column('referred_by')
    with op.batch_alter_table('raw_email') as batch:
        batch.drop_index('ix_raw_email_outcome')
        batch.drop_column('last_error')
        batch.drop_column('claimed_until')
        batch.drop_column('attempts')
