"""hotline desk: agents and admins, one-time intake links, chat-addressed pushes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 07:48:28.578527
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

RECIPIENTS = "recipient_type IN ('resident', 'mediator', 'court'"


def upgrade() -> None:
    op.create_table('desk_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=40), nullable=False),
    sa.Column('display_name', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('agent', 'admin')", name=op.f('ck_desk_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_desk_users_username'))
    )
    op.create_table('intake_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_chat_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_intake_links_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_intake_links_token_hash'))
    )
    with op.batch_alter_table('intake_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_links_case_id'), ['case_id'], unique=False)
    # The desk writes pushes to a chat that has no resident row yet.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_recipient_type'), type_='check')
        batch_op.create_check_constraint('recipient_type', RECIPIENTS + ", 'chat')")



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_recipient_type'), type_='check')
        batch_op.create_check_constraint('recipient_type', RECIPIENTS + ")")
    with op.batch_alter_table('intake_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_links_case_id'))

    op.drop_table('intake_links')
    op.drop_table('desk_users')
