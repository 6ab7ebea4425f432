"""handoffs: one acknowledgement while waiting, the waiting limit, a give-back retried until the assistant resumes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_OLD = "status IN ('waiting', 'taken', 'returned', 'closed')"
_NEW = "status IN ('waiting', 'taken', 'returning', 'returned', 'closed')"


def upgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('overdue_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resume_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('resume_next_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_handoffs_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_handoffs_status'), _NEW)


def downgrade() -> None:
    op.execute("UPDATE handoffs SET status = 'returned' WHERE status = 'returning'")
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_handoffs_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_handoffs_status'), _OLD)
        batch_op.drop_column('resume_next_at')
        batch_op.drop_column('resume_attempts')
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('acknowledged_at')
