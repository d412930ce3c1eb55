"""Object access for candidates' data: one helper per resource; strangers get 404, never a hint."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.roles import Role
from candidates.models import Application, Document

# Staff who may read dossiers. Examiners never do: they must not learn identities.
DOSSIER_READERS = (Role.HR, Role.CHAIR, Role.SUPERVISOR)


def get_own_application(request: HttpRequest, public_id: object) -> Application:
    application = (
        Application.objects.select_related("post__campaign", "post__organisation")
        .filter(public_id=public_id, candidate_id=request.user.pk)
        .first()
    )
    if application is None:
        raise Http404
    return application


def get_document_for_user(request: HttpRequest, public_id: object) -> Document:
    document = Document.objects.select_related("application").filter(public_id=public_id).first()
    if document is None or not request.user.is_authenticated:
        raise Http404
    user = request.user
    if document.application.candidate_id == user.pk:
        return document
    # Staff read submitted dossiers only: a draft, or a dossier withdrawn before submission, is the candidate's.
    submitted = document.application.profile_snapshot is not None  # taken at submission, never for a draft
    if submitted and user.has_role(*DOSSIER_READERS):  # type: ignore[union-attr]
        return document
    raise Http404
