"""Django's flush, able to empty the append-only audit table on SQLite.

SQLite flushes with DELETE, which the audit table's trigger refuses. This command
raises the one-row audit_flush_guard flag, flushes and lowers the flag again, all
in one transaction, so the flag is never seen set outside it. Test suites flush
through this command (TransactionTestCase, pytest-django ``transaction=True``).
PostgreSQL flushes with TRUNCATE, which fires no row trigger: nothing to do there.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if connection.vendor != "sqlite" or "audit_flush_guard" not in connection.introspection.table_names():
            return super().handle(**options)
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_flush_guard SET flushing = 1")
            super().handle(**options)
            cursor.execute("UPDATE audit_flush_guard SET flushing = 0")
