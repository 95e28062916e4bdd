"""a Q&A's wording in language versions; withdrawn Q&As kept with their reason

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'qa_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('qa_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['qa_id'], ['qa.id'], name=op.f('fk_qa_version_qa_id_qa')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_version')),
        sa.UniqueConstraint('qa_id', 'language', name=op.f('uq_qa_version_qa_id')),
    )
    op.create_index(op.f('ix_qa_version_qa_id'), 'qa_version', ['qa_id'])
    # Each existing Q&A's wording becomes its version in the language it was written in.
    op.execute("INSERT INTO qa_version (qa_id, language, question, answer, updated_at) "
               "SELECT id, language, question, answer, updated_at FROM qa")
    with op.batch_alter_table('qa', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('edited_by', sa.String(length=120), nullable=True))
        batch_op.drop_column('question')
        batch_op.drop_column('answer')


def downgrade() -> None:
    with op.batch_alter_table('qa', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('answer', sa.Text(), nullable=False, server_default=''))
    op.execute("UPDATE qa SET question = (SELECT v.question FROM qa_version v WHERE v.qa_id = qa.id "
               "AND v.language = qa.language), answer = (SELECT v.answer FROM qa_version v "
               "WHERE v.qa_id = qa.id AND v.language = qa.language)")
    with op.batch_alter_table('qa', schema=None) as batch_op:
        batch_op.drop_column('edited_by')
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_at')
    op.drop_index(op.f('ix_qa_version_qa_id'), table_name='qa_version')
    op.drop_table('qa_version')
