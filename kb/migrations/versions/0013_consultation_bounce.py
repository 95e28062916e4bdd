"""a consultation remembers that an email to its focal points bounced (when, and what bounced), so the
query's page and ``helpdesk show`` say the department may never have received the query

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultation') as batch:
        batch.add_column(sa.Column('bounced_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('bounce', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('consultation') as batch:
        batch.drop_column('bounce')
        batch.drop_column('bounced_at')
