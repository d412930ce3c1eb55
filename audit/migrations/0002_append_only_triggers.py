"""The database refuses UPDATE and DELETE on audit events (NIST SP 800-53 AU-9).

Only the events are protected: the chain head is updated by every append.
Someone with owner rights can still drop the triggers; the hash chain is what
catches them. On SQLite, the table remake some ALTERs do would drop these
triggers with the old table: a later migration that alters AuditEvent must
call create_triggers() again.

Django's test flush must still empty the table. PostgreSQL flushes with TRUNCATE,
which fires no row trigger. SQLite flushes with DELETE, so its delete trigger
stands aside while the one-row audit_flush_guard says so; only the flush command
(audit/management/commands/flush.py) sets it, inside the flush's own transaction.
"""

from django.db import migrations

POSTGRESQL_CREATE = [
    """
    CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only: % of event % refused', TG_OP, OLD.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()
    """,
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change()",
]

SQLITE_CREATE = [
    "CREATE TABLE audit_flush_guard (id INTEGER PRIMARY KEY CHECK (id = 1), flushing INTEGER NOT NULL)",
    "INSERT INTO audit_flush_guard (id, flushing) VALUES (1, 0)",
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
    BEGIN
        SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
    WHEN NOT EXISTS (SELECT 1 FROM audit_flush_guard WHERE flushing = 1)
    BEGIN
        SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused');
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TABLE IF EXISTS audit_flush_guard",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)  # no placeholders: keep % literal


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_CREATE)
    else:
        raise NotImplementedError(f"append-only triggers are written for PostgreSQL and SQLite, not {vendor}")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_DROP)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
