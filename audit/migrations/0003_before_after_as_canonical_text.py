"""before/after become plain text holding the canonical JSON that each event's hash covers.

On PostgreSQL the columns change from jsonb to text in place (ALTER COLUMN ... TYPE text);
the append-only trigger stays, and the rows already there keep jsonb's printed form
(``{"a": 1, "b": [1, 2]}``), which verify_chain() re-encodes before comparing hashes.
No row is rewritten: the trail is append-only, this migration included.

On SQLite, dropping JSONField's JSON_VALID check makes Django remake the table, and the
append-only triggers would go with the old one (see 0002): they are dropped first and
created again afterwards. The stored text is copied unchanged; it was canonical already.
"""

from importlib import import_module

import audit.models
from django.db import migrations

triggers = import_module("audit.migrations.0002_append_only_triggers")


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.drop_triggers(apps, schema_editor)


def create_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.create_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, create_sqlite_triggers),
        migrations.AlterField(
            model_name="auditevent",
            name="before",
            field=audit.models.CanonicalJSONTextField(blank=True, null=True, verbose_name="before"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="after",
            field=audit.models.CanonicalJSONTextField(blank=True, null=True, verbose_name="after"),
        ),
        migrations.RunPython(create_sqlite_triggers, drop_sqlite_triggers),
    ]
