"""on PostgreSQL, the values that grow past a couple of kilobytes (a query's triage record and text, a message's
body, an email's raw bytes, an outbox email's body, an attachment's bytes) are compressed with LZ4 instead of
pglz, several times faster to write and to read, when the server was built with it (most are: it is the
choice ``default_toast_compression`` offers); elsewhere, or without LZ4, nothing changes

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

#: (table, column) of the values compressed when large.
LARGE_VALUES = (('query', 'triage'), ('query', 'text'), ('message', 'body'), ('raw_email', 'raw'),
                ('outbox', 'body'), ('attachment', 'data'))


def _offers_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return False
    return bool(bind.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar())


def _compress_with(method: str) -> None:
    for table, column in LARGE_VALUES:  # names of our own schema: no user input in these statements
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION {method}')


def upgrade() -> None:
    if _offers_lz4():
        _compress_with('lz4')


def downgrade() -> None:
    if _offers_lz4():
        _compress_with('pglz')
