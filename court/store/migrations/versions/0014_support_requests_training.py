"""接诉即办: partner organisations and their accounts (a partner desk role), their support requests;
mediators' training sessions and who attended them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'partner_organisations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('place_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('township', 'department', 'mediation')", name=op.f('ck_partner_organisations_kind')),
        sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_partner_organisations_place_id_places')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_organisations')),
        sa.UniqueConstraint('name', name=op.f('uq_partner_organisations_name')),
    )
    op.create_index(op.f('ix_partner_organisations_place_id'), 'partner_organisations', ['place_id'], unique=False)
    with op.batch_alter_table('desk_users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_desk_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('agent', 'clerk', 'admin', 'partner')")
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_desk_users_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_desk_users_organisation_id_partner_organisations'),
                                    'partner_organisations', ['organisation_id'], ['id'])
    op.create_table(
        'support_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('filed_by', sa.String(length=40), nullable=False),
        sa.Column('filed_at', sa.DateTime(), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('assigned_at', sa.DateTime(), nullable=True),
        sa.Column('reply', sa.Text(), nullable=True),
        sa.Column('answered_by', sa.String(length=40), nullable=True),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('rated_at', sa.DateTime(), nullable=True),
        sa.Column('overdue_alerted_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('legal_support', 'mediation_guidance', 'judicial_confirmation', "
                           "'legal_education')", name=op.f('ck_support_requests_kind')),
        sa.CheckConstraint("status IN ('open', 'assigned', 'answered', 'closed')",
                           name=op.f('ck_support_requests_status')),
        sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_support_requests_rating')),
        sa.ForeignKeyConstraint(['assignee_id'], ['desk_users.id'],
                                name=op.f('fk_support_requests_assignee_id_desk_users')),
        sa.ForeignKeyConstraint(['organisation_id'], ['partner_organisations.id'],
                                name=op.f('fk_support_requests_organisation_id_partner_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_support_requests')),
    )
    op.create_index(op.f('ix_support_requests_filed_at'), 'support_requests', ['filed_at'], unique=False)
    op.create_index(op.f('ix_support_requests_organisation_id'), 'support_requests', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_support_requests_status'), 'support_requests', ['status'], unique=False)
    op.create_table(
        'training_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('topic', sa.String(length=120), nullable=False),
        sa.Column('hours', sa.Float(), nullable=False),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('hours > 0 AND hours <= 24', name=op.f('ck_training_sessions_hours')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_sessions')),
    )
    op.create_index(op.f('ix_training_sessions_held_on'), 'training_sessions', ['held_on'], unique=False)
    op.create_table(
        'training_attendance',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('mediator_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['mediator_id'], ['mediators.id'],
                                name=op.f('fk_training_attendance_mediator_id_mediators'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'],
                                name=op.f('fk_training_attendance_session_id_training_sessions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('session_id', 'mediator_id', name=op.f('pk_training_attendance')),
    )
    op.create_index(op.f('ix_training_attendance_mediator_id'), 'training_attendance', ['mediator_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_training_attendance_mediator_id'), table_name='training_attendance')
    op.drop_table('training_attendance')
    op.drop_index(op.f('ix_training_sessions_held_on'), table_name='training_sessions')
    op.drop_table('training_sessions')
    op.drop_index(op.f('ix_support_requests_status'), table_name='support_requests')
    op.drop_index(op.f('ix_support_requests_organisation_id'), table_name='support_requests')
    op.drop_index(op.f('ix_support_requests_filed_at'), table_name='support_requests')
    op.drop_table('support_requests')
    op.execute("DELETE FROM desk_sessions WHERE user_id IN (SELECT id FROM desk_users WHERE role = 'partner')")
    op.execute("DELETE FROM desk_users WHERE role = 'partner'")
    with op.batch_alter_table('desk_users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_desk_users_organisation_id_partner_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_desk_users_organisation_id'))
        batch_op.drop_column('organisation_id')
        batch_op.drop_constraint(op.f('ck_desk_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('agent', 'clerk', 'admin')")
    op.drop_index(op.f('ix_partner_organisations_place_id'), table_name='partner_organisations')
    op.drop_table('partner_organisations')
