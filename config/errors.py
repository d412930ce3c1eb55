from __future__ import annotations

from django.utils.functional import Promise


class Refused(Exception):
    """A business rule refused the action: the message is shown to the user, and nothing changed.

    Services raise it inside their transaction, so whatever they had written is rolled back.
    """

    def __init__(self, message: str | Promise, *, code: str = "refused") -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
