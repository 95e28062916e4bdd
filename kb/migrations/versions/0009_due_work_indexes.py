"""indexes on what is due, so that a chasing tick reads only the open work with something due

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

AWAITED_INPUT = sa.text('input_received_at IS NULL AND escalated_at IS NULL')
AWAITED_CLEARANCE = sa.text('answered_at IS NULL')


def upgrade() -> None:
    # Open queries by target date (status first, so it also serves every lookup by status).
    op.drop_index(op.f('ix_query_status'), table_name='query')
    op.create_index('ix_query_status_target', 'query', ['status', 'target_reply_date', 'id'])
    op.create_index('ix_consultation_awaited', 'consultation',
                    ['due_date', 'query_id', 'id', 'reminders_sent', 'last_reminder_at'],
                    postgresql_where=AWAITED_INPUT, sqlite_where=AWAITED_INPUT)
    op.create_index('ix_clearance_awaited', 'clearance', ['due_date'],
                    postgresql_where=AWAITED_CLEARANCE, sqlite_where=AWAITED_CLEARANCE)
    op.create_index(op.f('ix_outbox_failed_at'), 'outbox', ['failed_at'])
    op.create_index(op.f('ix_reply_created_at'), 'reply', ['created_at'])
    op.create_index(op.f('ix_feedback_received_at'), 'feedback', ['received_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_feedback_received_at'), table_name='feedback')
    op.drop_index(op.f('ix_reply_created_at'), table_name='reply')
    op.drop_index(op.f('ix_outbox_failed_at'), table_name='outbox')
    op.drop_index('ix_clearance_awaited', table_name='clearance')
    op.drop_index('ix_consultation_awaited', table_name='consultation')
    op.drop_index('ix_query_status_target', table_name='query')
    op.create_index(op.f('ix_query_status'), 'query', ['status'])
