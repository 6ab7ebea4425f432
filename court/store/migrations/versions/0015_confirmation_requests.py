"""agreements drafted from a successful outcome, their parties, and the judicial-confirmation requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agreements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('organisation', sa.String(length=80), nullable=False),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('terms', sa.Text(), nullable=False),
        sa.Column('performance', sa.Text(), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('court_id', sa.Integer(), nullable=False),
        sa.Column('intermediate', sa.Boolean(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_agreements_case_id_cases'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['court_id'], ['courts.id'], name=op.f('fk_agreements_court_id_courts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
        sa.UniqueConstraint('case_id', name=op.f('uq_agreements_case_id')),
    )
    op.create_table(
        'agreement_parties',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=True),
        sa.Column('id_number', sa.String(length=18), nullable=True),
        sa.Column('address', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'],
                                name=op.f('fk_agreement_parties_agreement_id_agreements'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_parties')),
        sa.UniqueConstraint('agreement_id', 'position', name='uq_agreement_parties_position'),
    )
    op.create_index(op.f('ix_agreement_parties_agreement_id'), 'agreement_parties', ['agreement_id'], unique=False)
    op.create_table(
        'confirmation_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('court_id', sa.Integer(), nullable=False),
        sa.Column('filed_on', sa.Date(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('result', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('decided_on', sa.Date(), nullable=True),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("result IN ('pending', 'confirmed', 'rejected')", name=op.f('ck_confirmation_requests_result')),
        sa.CheckConstraint("result <> 'rejected' OR reason IS NOT NULL", name=op.f('ck_confirmation_requests_reason')),
        sa.CheckConstraint('decided_on IS NULL OR decided_on >= filed_on',
                           name=op.f('ck_confirmation_requests_decided')),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'],
                                name=op.f('fk_confirmation_requests_agreement_id_agreements'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_confirmation_requests_case_id_cases'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['court_id'], ['courts.id'], name=op.f('fk_confirmation_requests_court_id_courts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_confirmation_requests')),
        sa.UniqueConstraint('agreement_id', name=op.f('uq_confirmation_requests_agreement_id')),
    )
    op.create_index(op.f('ix_confirmation_requests_case_id'), 'confirmation_requests', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_confirmation_requests_case_id'), table_name='confirmation_requests')
    op.drop_table('confirmation_requests')
    op.drop_index(op.f('ix_agreement_parties_agreement_id'), table_name='agreement_parties')
    op.drop_table('agreement_parties')
    op.drop_table('agreements')
