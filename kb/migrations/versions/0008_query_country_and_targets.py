"""the country a query is about and its region; the original target kept apart from an extended one;
the suggested organisation

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('query', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_target_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('country_concerned', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('region', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('country_source', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('suggested_organisation', sa.String(length=200), nullable=True))
    # Queries stored before: the target as it stands (an extension's original is not known), and the
    # requester's country as the country concerned.
    op.execute("UPDATE query SET original_target_date = target_reply_date")
    op.execute("UPDATE query SET country_concerned = (SELECT r.country FROM requester r WHERE r.id = query.requester_id),"
               " region = (SELECT r.region FROM requester r WHERE r.id = query.requester_id)")
    op.execute("UPDATE query SET country_source = 'requester' WHERE country_concerned IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('query', schema=None) as batch_op:
        batch_op.drop_column('suggested_organisation')
        batch_op.drop_column('country_source')
        batch_op.drop_column('region')
        batch_op.drop_column('country_concerned')
        batch_op.drop_column('original_target_date')
