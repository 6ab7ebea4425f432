"""erasure that erases: durable transcript erasure jobs; audit actors without chat ids

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 09:00:00

Audit entries written by the assistant used to name their actor "bot:<conversation
id>" (e.g. bot:tg-<Telegram chat id>), which survived a resident's erasure. They
are rewritten here to the keyed pseudonym the code now writes (court.records.journal.chat_actor);
the append-only triggers are lifted for that one statement and put back.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Actors of the assistant that name no conversation.
_SERVICE_ACTORS = ("bot:outbox",)


def upgrade() -> None:
    op.create_table(
        'transcript_erasures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=64), nullable=True),
        sa.Column('chat_id', sa.BigInteger(), nullable=True),
        sa.Column('reason', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'done')", name=op.f('ck_transcript_erasures_status')),
        sa.CheckConstraint("reason IN ('resident', 'retention')", name=op.f('ck_transcript_erasures_reason')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_erasures')),
    )
    op.create_index('ix_transcript_erasures_due', 'transcript_erasures', ['status', 'next_attempt_at'], unique=False)
    _pseudonymise_audit_actors()


def _pseudonymise_audit_actors() -> None:
    from court.records.journal import chat_actor

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT DISTINCT actor FROM audit_log WHERE actor LIKE 'bot:%'")).scalars().all()
    named = [a for a in rows if a not in _SERVICE_ACTORS and not a.startswith("bot:c-")]
    if not named:
        return
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
    for actor in named:
        conn.execute(sa.text("UPDATE audit_log SET actor = :new WHERE actor = :old"),
                     {"new": chat_actor(actor[len("bot:"):]), "old": actor})
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute("""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log_append_only'); END""")


def downgrade() -> None:
    # The pseudonyms stay: the chat ids they replaced are gone on purpose.
    op.drop_index('ix_transcript_erasures_due', table_name='transcript_erasures')
    op.drop_table('transcript_erasures')
