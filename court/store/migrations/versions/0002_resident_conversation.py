"""residents.conversation_id: find a resident by the assistant's sender id

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_residents_conversation_id", ["conversation_id"])


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch_op:
        batch_op.drop_constraint("uq_residents_conversation_id", type_="unique")
        batch_op.drop_column("conversation_id")
