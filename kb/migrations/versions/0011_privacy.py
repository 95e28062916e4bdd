"""privacy: erasure marks on queries and requesters, the audit trail, an index for the retention rule

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('query') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('erased_by', sa.String(length=120), nullable=True))
    with op.batch_alter_table('requester') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
    op.create_index('ix_query_closed_not_erased', 'query', ['closed_at'],
                    postgresql_where=sa.text('erased_at IS NULL'), sqlite_where=sa.text('erased_at IS NULL'))
    op.create_table(
        'audit_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('query_id', sa.Integer(), nullable=True),
        sa.Column('requester_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['query_id'], ['query.id'], name=op.f('fk_audit_entry_query_id_query')),
        sa.ForeignKeyConstraint(['requester_id'], ['requester.id'],
                                name=op.f('fk_audit_entry_requester_id_requester')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    )
    op.create_index(op.f('ix_audit_entry_at'), 'audit_entry', ['at'])
    op.create_index(op.f('ix_audit_entry_actor'), 'audit_entry', ['actor'])
    op.create_index(op.f('ix_audit_entry_query_id'), 'audit_entry', ['query_id'])
    op.create_index(op.f('ix_audit_entry_requester_id'), 'audit_entry', ['requester_id'])


def downgrade() -> None:
    op.drop_table('audit_entry')
    op.drop_index('ix_query_closed_not_erased', table_name='query')
    with op.batch_alter_table('requester') as batch:
        batch.drop_column('erased_at')
    with op.batch_alter_table('query') as batch:
        batch.drop_column('erased_by')
        batch.drop_column('erased_at')
