"""court oversight: a clerk role, and the place of each case for statistics by area

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('desk_users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_desk_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('agent', 'clerk', 'admin')")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_place_id'), ['place_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_place_id_places'), 'places', ['place_id'], ['id'])
    # Cases booked before this migration: the service point's place stands in.
    op.execute("UPDATE cases SET place_id = (SELECT place_id FROM service_points "
               "WHERE service_points.id = cases.service_point_id) WHERE service_point_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_place_id_places'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_place_id'))
        batch_op.drop_column('place_id')
    with op.batch_alter_table('desk_users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_desk_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('agent', 'admin')")
