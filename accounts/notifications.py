from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import User


def notify(*, user: User, template: str, context: dict[str, Any]) -> None:
    """E-mails the user from `<template>_subject.txt` and `<template>_message.txt`, via the task queue.

    Rendered in Vietnamese, the platform's language of record; the English text is in the templates' catalogue.
    """
    full_context = {"user": user, "site_url": settings.SITE_URL, **context}
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}_subject.txt", full_context).strip()
        body = render_to_string(f"{template}_message.txt", full_context)
    send_mail(subject, body, None, [user.email])
