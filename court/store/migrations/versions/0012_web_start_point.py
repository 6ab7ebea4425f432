"""web chat: the service point whose QR poster opened a conversation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('web_conversations') as batch:
        batch.add_column(sa.Column('start_point_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_web_conversations_start_point_id_service_points'), 'service_points',
                                 ['start_point_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('web_conversations') as batch:
        batch.drop_constraint(op.f('fk_web_conversations_start_point_id_service_points'), type_='foreignkey')
        batch.drop_column('start_point_id')
