"""the outbox's index of kinds also orders each kind by time: the mail-loop guard reads the automatic notices of
the last day instead of every one ever sent (it replaces the index of the kind alone, which is its prefix)

Revision ID: 0015
Revises: 0014
"""
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_kind_created', 'outbox', ['kind', 'created_at'])
    op.drop_index('ix_outbox_kind', table_name='outbox')


def downgrade() -> None:
    op.create_index('ix_outbox_kind', 'outbox', ['kind'])
    op.drop_index('ix_outbox_kind_created', table_name='outbox')
