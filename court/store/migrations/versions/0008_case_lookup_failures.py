"""a failure counter per case reference: lookups by reference and phone pause after repeated wrong phones

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lookup_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('lookup_paused_until', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('lookup_paused_until')
        batch_op.drop_column('lookup_failures')
