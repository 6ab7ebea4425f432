"""web chat: anonymous conversations bound to a cookie, and the messages the page shows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'web_conversations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cookie_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('read_up_to', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_conversations')),
        sa.UniqueConstraint('cookie_hash', name=op.f('uq_web_conversations_cookie_hash')),
    )
    op.create_table(
        'web_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('buttons', sa.JSON(), nullable=False),
        sa.Column('venue', sa.JSON(), nullable=True),
        sa.Column('keyboard', sa.String(length=16), nullable=True),
        sa.Column('chosen', sa.String(length=64), nullable=True),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['web_conversations.id'],
                                name=op.f('fk_web_messages_conversation_id_web_conversations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_messages')),
        sa.UniqueConstraint('outbox_id', name=op.f('uq_web_messages_outbox_id')),
    )
    op.create_index(op.f('ix_web_messages_conversation_id'), 'web_messages', ['conversation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_messages_conversation_id'), table_name='web_messages')
    op.drop_table('web_messages')
    op.drop_table('web_conversations')
