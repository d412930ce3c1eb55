from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from candidates import services, uploads
from candidates.forms import DocumentUploadForm, ProfileForm, RatingFormSet, WorkHistoryFormSet
from candidates.models import CandidateProfile
from candidates.permissions import get_document_for_user, get_own_application
from candidates.upload_handlers import SizeLimitUploadHandler
from config.errors import Refused
from exams.models import Post


@role_required(Role.CANDIDATE)
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    profile = CandidateProfile.objects.filter(user=request.user).first() or CandidateProfile(
        user=request.user,
        full_name=request.user.full_name,  # type: ignore[union-attr]
    )
    data = request.POST if request.method == "POST" else None
    form = ProfileForm(data, instance=profile)
    jobs = WorkHistoryFormSet(data, instance=profile, prefix="jobs")
    ratings = RatingFormSet(data, instance=profile, prefix="ratings")
    if data is not None and form.is_valid() and jobs.is_valid() and ratings.is_valid():
        with transaction.atomic():
            jobs.instance = ratings.instance = form.save()
            jobs.save()
            ratings.save()
        messages.success(request, _("Your profile has been saved."))
        next_url = request.GET.get("next", "")
        safe = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
        return redirect(next_url if next_url and safe else "candidate_home")
    if data is not None:
        messages.error(request, _("The profile was not saved: correct the fields marked below."))
    return render(request, "candidates/profile_form.html", {"form": form, "jobs": jobs, "ratings": ratings})


@role_required(Role.CANDIDATE)
@require_POST
def application_start(request: HttpRequest, post_id: int) -> HttpResponse:
    post = get_object_or_404(Post.objects.public(), pk=post_id)
    try:
        application = services.start_application(candidate=request.user, post=post)  # type: ignore[arg-type]
    except Refused as refused:
        messages.error(request, refused.message)
        if refused.code == "no_profile":
            return redirect(f"{reverse('profile_edit')}?next={reverse('post_detail', args=[post.pk])}")
        existing = request.user.applications.filter(post=post).first()  # type: ignore[union-attr]
        return redirect("application_detail", existing.public_id) if existing else redirect("post_detail", post.pk)
    messages.success(request, _("Your draft application has been created. Upload the documents, then submit."))
    return redirect("application_detail", application.public_id)


@role_required(Role.CANDIDATE)
def application_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    application = get_own_application(request, public_id)
    form = DocumentUploadForm(required_documents=application.post.required_documents)
    documents = list(application.documents.all())
    present = {d.doc_type for d in documents}
    context = {
        "application": application,
        "form": form,
        "documents": documents,
        "missing": [label for code, label in form.fields["doc_type"].choices if code not in present],
        "events": application.events.all(),
        "criteria": application.criteria.all() if application.post.eligible_list_published_at else [],
        "now": timezone.now(),
    }
    return render(request, "candidates/application_detail.html", context)


@csrf_exempt  # CSRF is checked below, after the size-limiting upload handler is installed
@role_required(Role.CANDIDATE)
@require_POST
def document_upload(request: HttpRequest, public_id: str) -> HttpResponse:
    limiter = SizeLimitUploadHandler(settings.DOSSIER_MAX_FILE_BYTES, request)
    request.upload_handlers.insert(0, limiter)
    return _document_upload(request, public_id, limiter)


@csrf_protect
def _document_upload(request: HttpRequest, public_id: str, limiter: SizeLimitUploadHandler) -> HttpResponse:
    application = get_own_application(request, public_id)
    form = DocumentUploadForm(request.POST, request.FILES, required_documents=application.post.required_documents)
    if limiter.exceeded:
        size = {"size": filesizeformat(limiter.received), "limit": filesizeformat(settings.DOSSIER_MAX_FILE_BYTES)}
        messages.error(request, uploads.UploadRejected("too_large", size).text)
        return redirect("application_detail", application.public_id)
    if not form.is_valid():
        messages.error(request, _("Choose the document type and a file."))
        return redirect("application_detail", application.public_id)
    upload = form.cleaned_data["file"]
    try:
        services.add_document(
            application=application, doc_type=form.cleaned_data["doc_type"], filename=upload.name, data=upload.read()
        )
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The document has been uploaded."))
    return redirect("application_detail", application.public_id)


@role_required(Role.CANDIDATE)
@require_POST
def document_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    document = get_document_for_user(request, public_id)
    application = get_own_application(request, document.application.public_id)
    try:
        services.remove_document(document=document)
    except Refused as refused:
        messages.error(request, refused.message)
    return redirect("application_detail", application.public_id)


@role_required(Role.CANDIDATE)
@require_POST
def application_submit(request: HttpRequest, public_id: str) -> HttpResponse:
    application = get_own_application(request, public_id)
    try:
        services.submit_application(application=application, candidate=request.user)  # type: ignore[arg-type]
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Your application has been submitted. A receipt has been e-mailed to you."))
    return redirect("application_detail", application.public_id)


@role_required(Role.CANDIDATE)
@require_POST
def application_withdraw(request: HttpRequest, public_id: str) -> HttpResponse:
    application = get_own_application(request, public_id)
    try:
        services.withdraw_application(application=application, candidate=request.user)  # type: ignore[arg-type]
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Your application has been withdrawn."))
    return redirect("application_detail", application.public_id)


def document_download(request: HttpRequest, public_id: str) -> FileResponse:
    document = get_document_for_user(request, public_id)
    extension = document.file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=True,
        filename=f"{document.doc_type}.{extension}",
    )
    # The file is the candidate's personal data: never cached by a proxy or the browser.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
