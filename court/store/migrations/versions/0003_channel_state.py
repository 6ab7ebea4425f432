"""channel state: link codes, server-side button payloads, the inbound journal, blocked chats

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:56:11.732308
"""
from alembic import op
import sqlalchemy as sa



revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_buttons',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('keyboard', sa.String(length=32), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_chat_buttons'))
    )
    with op.batch_alter_table('chat_buttons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_buttons_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_buttons_keyboard'), ['keyboard'], unique=False)

    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.BigInteger(), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('conversation_id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'kept')", name=op.f('ck_inbound_messages_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('update_id', name=op.f('uq_inbound_messages_update_id'))
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_messages_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index('ix_inbound_pending', ['status', 'next_attempt_at'], unique=False)

    op.create_table('link_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mediator_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mediator_id'], ['mediators.id'], name=op.f('fk_link_codes_mediator_id_mediators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_link_codes_code_hash'))
    )
    with op.batch_alter_table('link_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_codes_mediator_id'), ['mediator_id'], unique=False)

    with op.batch_alter_table('mediators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_blocked_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_blocked_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('telegram_blocked_at')

    with op.batch_alter_table('mediators', schema=None) as batch_op:
        batch_op.drop_column('telegram_blocked_at')

    with op.batch_alter_table('link_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_codes_mediator_id'))

    op.drop_table('link_codes')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_pending')
        batch_op.drop_index(batch_op.f('ix_inbound_messages_chat_id'))

    op.drop_table('inbound_messages')
    with op.batch_alter_table('chat_buttons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_buttons_keyboard'))
        batch_op.drop_index(batch_op.f('ix_chat_buttons_chat_id'))

    op.drop_table('chat_buttons')
