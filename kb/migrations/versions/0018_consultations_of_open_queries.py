"""a consultation knows whether its query is open (``query_open``, kept by the life cycle's one status change),
and the indexes of awaited and unanswered inputs hold only those of open queries: a chasing tick and the
digest no longer read the consultations of answered and closed queries, which may stay unanswered for ever

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

#: The statuses of an open query (``kb.models.OPEN_STATUSES``, as they stood at this revision).
OPEN = ('new', 'manual_triage', 'held', 'routed', 'awaiting_inputs', 'draft_ready', 'reopened')


def _where(condition: str, with_flag: bool) -> sa.TextClause:
    if with_flag:  # as SQLAlchemy writes the boolean: a query's terms must be the index's for SQLite to use it
        condition += ' AND query_open' + (' = 1' if op.get_bind().dialect.name == 'sqlite' else '')
    return sa.text(condition)


def _indexes(with_flag: bool) -> None:
    awaited = _where('input_received_at IS NULL AND escalated_at IS NULL', with_flag)
    unanswered = _where('input_received_at IS NULL', with_flag)
    op.create_index('ix_consultation_awaited', 'consultation',
                    ['due_date', 'query_id', 'id', 'reminders_sent', 'last_reminder_at'],
                    postgresql_where=awaited, sqlite_where=awaited)
    op.create_index('ix_consultation_unanswered', 'consultation', ['query_id', 'due_date', 'id'],
                    postgresql_where=unanswered, sqlite_where=unanswered)


def upgrade() -> None:
    with op.batch_alter_table('consultation') as batch:
        batch.add_column(sa.Column('query_open', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute(sa.text('UPDATE consultation SET query_open = false WHERE query_id IN '
                       '(SELECT id FROM query WHERE status NOT IN :open)')
               .bindparams(sa.bindparam('open', OPEN, expanding=True)))
    op.drop_index('ix_consultation_awaited', table_name='consultation')
    op.drop_index('ix_consultation_unanswered', table_name='consultation')
    _indexes(with_flag=True)


def downgrade() -> None:
    op.drop_index('ix_consultation_awaited', table_name='consultation')
    op.drop_index('ix_consultation_unanswered', table_name='consultation')
    _indexes(with_flag=False)
    with op.batch_alter_table('consultation') as batch:
        batch.drop_column('query_open')
