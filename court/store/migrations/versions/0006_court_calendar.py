"""the court's own holiday calendar: days off, adjusted working days, published years

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('entered_by', sa.String(length=64), nullable=False),
        sa.Column('entered_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_days_kind')),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days')),
    )
    op.create_table(
        'calendar_years',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('published_by', sa.String(length=64), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years')),
    )


def downgrade() -> None:
    op.drop_table('calendar_years')
    op.drop_table('calendar_days')
