"""fewer indexes to keep up for each new query: the indexes of ``query_id`` alone on consultations, topics and
outbox rows go (a composite index leading with it serves the same look-ups); the outbox's indexes of
``due_at``, ``sent_at`` and ``failed_at`` become two partial ones: the rows waiting to be sent, in the order
the sender claims them, and the rows that failed, by query (what chasing and the digest look for)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

WAITING = sa.text('sent_at IS NULL AND failed_at IS NULL')
FAILED = sa.text('failed_at IS NOT NULL')


def upgrade() -> None:
    op.create_index('ix_outbox_waiting', 'outbox', ['channel', 'due_at', 'id'],
                    postgresql_where=WAITING, sqlite_where=WAITING)
    op.create_index('ix_outbox_failed', 'outbox', ['query_id', 'id'], postgresql_where=FAILED, sqlite_where=FAILED)
    for name, table in (('ix_outbox_due_at', 'outbox'), ('ix_outbox_sent_at', 'outbox'),
                        ('ix_outbox_failed_at', 'outbox'), ('ix_outbox_query_id', 'outbox'),
                        ('ix_consultation_query_id', 'consultation'), ('ix_query_topic_query_id', 'query_topic')):
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    op.create_index('ix_query_topic_query_id', 'query_topic', ['query_id'])
    op.create_index('ix_consultation_query_id', 'consultation', ['query_id'])
    op.create_index('ix_outbox_query_id', 'outbox', ['query_id'])
    op.create_index('ix_outbox_failed_at', 'outbox', ['failed_at'])
    op.create_index('ix_outbox_sent_at', 'outbox', ['sent_at'])
    op.create_index('ix_outbox_due_at', 'outbox', ['due_at'])
    op.drop_index('ix_outbox_failed', table_name='outbox')
    op.drop_index('ix_outbox_waiting', table_name='outbox')
