"""an index of the outbox by query, kind and time: the mail-loop guard counts a requester's acknowledgements of
the last day from their queries, instead of reading every acknowledgement ever sent (it read them all for each
email received, so each email cost more as the outbox grew)

Revision ID: 0014
Revises: 0013
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_query_kind', 'outbox', ['query_id', 'kind', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_query_kind', table_name='outbox')
