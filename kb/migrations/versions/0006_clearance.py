"""clearance of replies by the consulted departments

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'clearance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('query_id', sa.Integer(), nullable=False),
        sa.Column('consultation_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('requested_by', sa.String(length=120), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('draft_text', sa.Text(), nullable=False),
        sa.Column('reminders_sent', sa.Integer(), nullable=False),
        sa.Column('last_reminder_at', sa.DateTime(), nullable=True),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('verdict', sa.String(length=20), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('answered_by', sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'],
                                name=op.f('fk_clearance_consultation_id_consultation')),
        sa.ForeignKeyConstraint(['query_id'], ['query.id'], name=op.f('fk_clearance_query_id_query')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clearance')),
    )
    op.create_index(op.f('ix_clearance_query_id'), 'clearance', ['query_id'])
    op.create_index(op.f('ix_clearance_consultation_id'), 'clearance', ['consultation_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_clearance_consultation_id'), table_name='clearance')
    op.drop_index(op.f('ix_clearance_query_id'), table_name='clearance')
    op.drop_table('clearance')
