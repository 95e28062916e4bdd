"""an index of the consultations without input, by query: the digest counts the open queries' overdue inputs
without reading the consultations of closed queries whose departments never answered

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

UNANSWERED = sa.text('input_received_at IS NULL')


def upgrade() -> None:
    op.create_index('ix_consultation_unanswered', 'consultation', ['query_id', 'due_date', 'id'],
                    postgresql_where=UNANSWERED, sqlite_where=UNANSWERED)


def downgrade() -> None:
    op.drop_index('ix_consultation_unanswered', table_name='consultation')
