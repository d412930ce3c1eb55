"""Certificates: public verification (QR and serial), private download, HR issuing and progress."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal, InvalidOperation
from io import BytesIO
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from accounts.permissions import role_required
from accounts.roles import Role
from config.errors import Refused
from scoring import certificates
from scoring.certificate_pdf import render_certificate
from scoring.models import Certificate, CertificateBatch, ResultSet

logger = logging.getLogger(__name__)

# Besides the candidate the certificate belongs to. Examiners never: they must not learn identities.
CERTIFICATE_READERS = (Role.HR, Role.CHAIR, Role.SUPERVISOR)

OUTCOME_LABELS = {
    "winner": gettext_lazy("Selected (ranked within the vacancies)"),
    "passed": gettext_lazy("Passed, not selected"),
    "failed": gettext_lazy("Did not pass"),
    "not_reached": gettext_lazy("Did not pass a gating part"),
    "absent": gettext_lazy("Absent"),
    "incomplete": gettext_lazy("Incomplete"),
}


def _certificate_for_user(request: HttpRequest, serial: str) -> Certificate:
    """The owner candidate and the certificate readers get it; anyone else gets 404, never a hint."""
    user = request.user
    if not user.is_authenticated:
        raise Http404
    certificate = Certificate.objects.select_related("entry__application").filter(serial=serial[:40]).first()
    if certificate is None:
        raise Http404
    if certificate.entry.application.candidate_id == user.pk or user.has_role(*CERTIFICATE_READERS):  # type: ignore[union-attr]
        return certificate
    raise Http404


@require_GET
def certificate_download(request: HttpRequest, serial: str) -> FileResponse:
    certificate = _certificate_for_user(request, serial)
    name = certificate.pdf.name
    if name and default_storage.exists(name):
        content = default_storage.open(name, "rb")
    else:
        # The signed payload is the certificate: a lost file is drawn again from it.
        logger.warning("Certificate %s had no PDF file: rendered again from its payload", certificate.serial)
        content = BytesIO(
            render_certificate(payload=certificate.payload, token=certificates.certificate_token(certificate))
        )
    response = FileResponse(
        content, content_type="application/pdf", as_attachment=True, filename=f"{certificate.serial}.pdf"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _no_index(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_safe
def certificate_verify(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the QR code's page. The status is read live, so a revocation shows at once."""
    check = certificates.check_token(token)
    context: dict[str, object] = {"check": check}
    if check.payload is not None:
        context.update(_display(check.payload))
    response = render(request, "certificates/verify.html", context, status=200 if check.is_authentic else 404)
    return _no_index(response)


def _decimal(value: object) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _display(payload: dict[str, Any]) -> dict[str, object]:
    """The verified payload in display form: numbers as decimals (localised), dates as dates."""
    return {
        "payload": payload,
        "marks": [(part.get("name", ""), _decimal(part.get("mark"))) for part in payload.get("marks", [])],
        "total": _decimal(payload.get("total")),
        "birth_date": _day((payload.get("candidate") or {}).get("birth_date")),
        "issued_on": _day(payload.get("date")),
        "outcome_label": OUTCOME_LABELS.get(str(payload.get("outcome", "")), payload.get("outcome_text", "")),
    }


class SerialForm(forms.Form):
    serial = forms.CharField(
        label=gettext_lazy("Serial number"),
        max_length=40,
        help_text=gettext_lazy("As printed on the certificate, e.g. HT-2026-ACDEFGHJKM."),
    )


@never_cache
@require_safe
def certificate_verify_form(request: HttpRequest) -> HttpResponse:
    """Public: the status of a serial number (no personal data; scan the QR code for the certified data)."""
    form = SerialForm(request.GET or None)
    certificate = None
    searched = False
    if form.is_valid():
        searched = True
        certificate = certificates.lookup_serial(form.cleaned_data["serial"])
    context = {"form": form, "certificate": certificate, "searched": searched}
    return _no_index(render(request, "certificates/verify_form.html", context))


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@role_required(Role.HR)
@require_POST
def certificate_issue(request: HttpRequest, result_set_id: int) -> HttpResponse:
    result_set = get_object_or_404(ResultSet, pk=result_set_id)
    try:
        batch = certificates.issue_certificates(result_set=result_set, by=request.user)  # type: ignore[arg-type]
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect(_safe_next(request, "hr_home"))
    messages.success(request, _("The certificates are being generated. This page shows the progress."))
    return redirect("certificate_batch", batch_id=batch.pk)


@role_required(Role.HR)
@require_GET
def certificate_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(CertificateBatch.objects.select_related("result_set__campaign"), pk=batch_id)
    context = {
        "batch": batch,
        "stalled": certificates.is_stalled(batch),
        "percent": int(100 * batch.done / batch.total) if batch.total else 100,
        "poll": batch.status in (CertificateBatch.Status.QUEUED, CertificateBatch.Status.RUNNING),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "certificates/_batch_progress.html", context)
    if batch.status == CertificateBatch.Status.DONE:
        page = Paginator(certificates.certificates_of(batch.result_set), 50).get_page(request.GET.get("page"))
        context["page"] = page
    context["stale_minutes"] = max(1, int(getattr(settings, "CERT_BATCH_STALE_SECONDS", 300)) // 60)
    return render(request, "certificates/batch.html", context)


@role_required(Role.HR)
@require_POST
def certificate_batch_resume(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(CertificateBatch, pk=batch_id)
    if certificates.resume_certificate_batch(batch, by=request.user):  # type: ignore[arg-type]
        messages.success(request, _("The remaining certificates were queued again."))
    else:
        messages.info(request, _("The batch is finished or still making progress: nothing was queued."))
    return redirect("certificate_batch", batch_id=batch.pk)
