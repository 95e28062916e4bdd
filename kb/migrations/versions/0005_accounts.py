"""console accounts and sign-in attempts

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('role', sa.Enum('specialist', 'viewer', name='accountrole', native_enum=False, length=24),
                  nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('removed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
        sa.UniqueConstraint('name', name=op.f('uq_account_name')),
    )
    op.create_table(
        'login_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_name', sa.String(length=80), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('succeeded', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt')),
    )
    op.create_index(op.f('ix_login_attempt_account_name'), 'login_attempt', ['account_name'])
    op.create_index(op.f('ix_login_attempt_at'), 'login_attempt', ['at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_login_attempt_at'), table_name='login_attempt')
    op.drop_index(op.f('ix_login_attempt_account_name'), table_name='login_attempt')
    op.drop_table('login_attempt')
    op.drop_table('account')
