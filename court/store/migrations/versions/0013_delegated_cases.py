"""委派调解: delegated cases, their parties, the mediator's log; cases.source 'delegated'

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_OLD_SOURCES = "source IN ('bot', 'hotline')"
_NEW_SOURCES = "source IN ('bot', 'hotline', 'delegated')"


def _sources(check: str) -> None:
    # SQLite cannot alter a CHECK: batch mode copies the table (migrations run without foreign key enforcement).
    with op.batch_alter_table('cases') as batch:
        batch.drop_constraint(op.f('ck_cases_source'), type_='check')
        batch.create_check_constraint(op.f('ck_cases_source'), check)


def upgrade() -> None:
    _sources(_NEW_SOURCES)
    op.create_table(
        'delegations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('court_id', sa.Integer(), nullable=False),
        sa.Column('judge', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('delegated_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('consent_by', sa.String(length=64), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('original_deadline', sa.Date(), nullable=True),
        sa.Column('extension_reason', sa.String(length=200), nullable=True),
        sa.Column('extended_at', sa.DateTime(), nullable=True),
        sa.Column('offers', sa.Integer(), nullable=False),
        sa.Column('offered_at', sa.DateTime(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(), nullable=True),
        sa.Column('outcome_at', sa.DateTime(), nullable=True),
        sa.Column('return_note', sa.String(length=200), nullable=True),
        sa.Column('alert_level', sa.String(length=8), nullable=True),
        sa.CheckConstraint("status IN ('offered', 'declined', 'accepted', 'settled', 'returned')",
                           name=op.f('ck_delegations_status')),
        sa.CheckConstraint("channel IN ('window', 'hotline', 'judge')", name=op.f('ck_delegations_channel')),
        sa.CheckConstraint('amount_cents IS NULL OR amount_cents >= 0', name=op.f('ck_delegations_amount')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_delegations_case_id_cases')),
        sa.ForeignKeyConstraint(['court_id'], ['courts.id'], name=op.f('fk_delegations_court_id_courts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_delegations')),
        sa.UniqueConstraint('case_id', name=op.f('uq_delegations_case_id')),
    )
    op.create_index(op.f('ix_delegations_court_id'), 'delegations', ['court_id'])
    op.create_index(op.f('ix_delegations_status'), 'delegations', ['status'])
    op.create_table(
        'delegation_parties',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delegation_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=12), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.CheckConstraint("role IN ('applicant', 'respondent')", name=op.f('ck_delegation_parties_role')),
        sa.ForeignKeyConstraint(['delegation_id'], ['delegations.id'], ondelete='CASCADE',
                                name=op.f('fk_delegation_parties_delegation_id_delegations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_delegation_parties')),
    )
    op.create_index(op.f('ix_delegation_parties_delegation_id'), 'delegation_parties', ['delegation_id'])
    op.create_table(
        'delegation_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delegation_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('contact', 'session')", name=op.f('ck_delegation_log_kind')),
        sa.ForeignKeyConstraint(['delegation_id'], ['delegations.id'], ondelete='CASCADE',
                                name=op.f('fk_delegation_log_delegation_id_delegations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_delegation_log')),
    )
    op.create_index(op.f('ix_delegation_log_delegation_id'), 'delegation_log', ['delegation_id'])


def downgrade() -> None:
    op.drop_table('delegation_log')
    op.drop_table('delegation_parties')
    op.drop_table('delegations')
    # Their outcomes and audit entries still name the cases: keep them, as the court's hotline cases.
    op.execute("UPDATE cases SET source = 'hotline' WHERE source = 'delegated'")
    _sources(_OLD_SOURCES)
