"""Result certificates: signing, the PDF, offline and online verification, rotation, access."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from accounts.roles import Role
from audit.models import AuditEvent
from candidates.models import Application
from config.errors import Refused
from exams.models import CouncilMember, ExamPart, ExamRules, MarkingMode, Post
from scoring import certificates
from scoring.certificate_pdf import ATTACHMENT_NAME, render_certificate
from scoring.models import Certificate, CertificateBatch, ResultEntry, ResultSet
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]
KEY_ID = "test-2026"
NFD_NAME = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
NFC_NAME = unicodedata.normalize("NFC", NFD_NAME)


# --- Keys and builders (shared with test_certificate_tasks.py) ----------------------------------


@dataclass
class KeyPair:
    key_id: str
    private: str
    public: str


def new_pair(key_id: str) -> KeyPair:
    private, public = certificates.new_key_pair()
    return KeyPair(key_id, private, public)


def use_key(settings, pair: KeyPair, retired: dict[str, str] | None = None) -> None:
    settings.CERT_SIGNING_KEY = pair.private
    settings.CERT_KEY_ID = pair.key_id
    settings.CERT_PUBLIC_KEYS = retired or {}


@pytest.fixture
def cert_key(settings, tmp_path: Path) -> KeyPair:
    """A fresh signing key, private media and no demo key (every test in these files)."""
    pair = new_pair(KEY_ID)
    use_key(settings, pair)
    settings.CERT_DEMO_KEYS = False
    settings.CERT_KEY_DIR = tmp_path / "keys"
    settings.MEDIA_ROOT = tmp_path / "media"
    return pair


@dataclass
class ResultSetup:
    result_set: ResultSet
    entries: list[ResultEntry]
    hr: User
    chair: User
    post: Post


def staff(email: str, *roles: Role, name: str) -> User:
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import Group

    user = User.objects.create_user(email=email, full_name=name, password="Correct-Horse-42")
    user.groups.set([Group.objects.get_or_create(name=r.value)[0] for r in roles])
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


def build_result_set(
    make_post: Callable[..., Post],
    *,
    names: list[str] | None = None,
    count: int = 3,
    hr: User | None = None,
    chair: User | None = None,
    candidates: list[User] | None = None,
) -> ResultSetup:
    """A published version with its entries, straight with the ORM (no results services)."""
    post = make_post(opens_in_days=-60, closes_in_days=-40, title="Phó Giám đốc Sở Y tế")
    campaign = post.campaign
    hr = hr or staff("hr.cert@example.vn", Role.HR, name="Trần Thị Hà")
    chair = chair or staff("chair.cert@example.vn", Role.CHAIR, name="Lê Văn Chủ")
    CouncilMember.objects.create(campaign=campaign, user=chair, role=CouncilMember.Role.CHAIR)
    rules = ExamRules.objects.create(
        campaign=campaign,
        status=ExamRules.Status.APPROVED,
        created_by=hr,
        approved_by=chair,
        approved_at=timezone.now(),
    )
    ExamPart.objects.create(
        rules=rules, position=1, code="written", name="Thi viết kiến thức chung", marking_mode=MarkingMode.BLIND_DOUBLE
    )
    ExamPart.objects.create(
        rules=rules, position=2, code="oral", name="Trình bày đề án", marking_mode=MarkingMode.PANEL_BALLOT
    )
    names = names or [f"Ứng Viên Số {i}" for i in range(1, count + 1)]
    now = timezone.now()
    if candidates is None:
        candidates = User.objects.bulk_create(
            [User(email=f"cand{i}.cert@example.vn", full_name=name) for i, name in enumerate(names)]
        )
    applications = Application.objects.bulk_create(
        [
            Application(
                candidate=user,
                post=post,
                status=Application.Status.ELIGIBLE,
                submitted_at=now - timedelta(days=30),
                decided_at=now - timedelta(days=25),
                profile_snapshot={
                    "full_name": name,
                    "date_of_birth": "1980-05-17",
                    "citizen_id": f"049080{i:06d}",
                    "phone": "0905123456",
                },
            )
            for i, (user, name) in enumerate(zip(candidates, names, strict=True))
        ]
    )
    result_set = ResultSet.objects.create(
        campaign=campaign,
        version=1,
        status=ResultSet.Status.PUBLISHED,
        prepared_by=hr,
        approved_by=chair,
        approved_at=now,
        published_at=now,
        content={"entries": []},
        content_hash="ab" * 32,
    )
    ResultEntry.objects.bulk_create(
        [
            ResultEntry(
                result_set=result_set,
                application=application,
                post=post,
                full_name=name,
                part_marks={"written": "78.5", "oral": f"{80 + i % 10}.3"},
                total=Decimal("78.5") + Decimal(f"{80 + i % 10}.3"),
                rank=i + 1,
                outcome="winner" if i == 0 else "passed",
                proof=[],
            )
            for i, (application, name) in enumerate(zip(applications, names, strict=True))
        ]
    )
    return ResultSetup(
        result_set, list(ResultEntry.objects.filter(result_set=result_set).order_by("pk")), hr, chair, post
    )


def pdf_of(certificate: Certificate) -> bytes:
    with default_storage.open(certificate.pdf.name, "rb") as handle:
        return handle.read()


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def verify_file(tmp_path: Path, pdf: bytes, *args: str) -> tuple[bool, str]:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    out = io.StringIO()
    try:
        call_command("verify_certificate", str(path), *args, stdout=out)
    except CommandError as error:
        assert error.returncode == 1
        return False, str(error)
    return True, out.getvalue()


@pytest.fixture
def setup(cert_key: KeyPair, make_post) -> ResultSetup:
    return build_result_set(make_post, names=[NFD_NAME, "Trần Văn Bình", "Lê Thị Cúc"])


@pytest.fixture
def certificate(setup: ResultSetup) -> Certificate:
    return certificates.generate_certificate(setup.entries[0])


# --- The PDF ------------------------------------------------------------------------------------


def test_the_pdf_prints_the_nfc_name_the_marks_and_the_serial(certificate: Certificate) -> None:
    text = text_of(pdf_of(certificate))
    assert NFC_NAME in text
    assert NFD_NAME not in text
    assert certificate.payload["candidate"]["name"] == NFC_NAME
    for expected in (
        certificate.serial,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "GIẤY CHỨNG NHẬN KẾT QUẢ THI TUYỂN",
        "Thi viết kiến thức chung",
        "78,5",
        "80,3",
        "158,8",
        "Trúng tuyển",
        "Phó Giám đốc Sở Y tế",
        "Sở Y tế",
        "17/05/1980",
        "Lê Văn Chủ",
        "Quảng Nam, ngày",
    ):
        assert expected in text, expected
    assert len(PdfReader(io.BytesIO(pdf_of(certificate))).pages) == 1
    assert certificate.pdf.name == f"certificates/{certificate.serial}.pdf"


def test_the_payload_keeps_personal_data_minimal(certificate: Certificate, setup: ResultSetup) -> None:
    signed = certificates.canonical_bytes(certificate.payload).decode()
    application = setup.entries[0].application
    for secret in (application.profile_snapshot["citizen_id"], application.candidate.email, "0905123456"):
        assert secret not in signed
        assert secret not in text_of(pdf_of(certificate))
    assert certificate.payload["candidate"] == {"name": NFC_NAME, "birth_date": "1980-05-17"}
    assert [m["name"] for m in certificate.payload["marks"]] == ["Thi viết kiến thức chung", "Trình bày đề án"]
    assert certificate.payload["result_set"] == {"version": 1, "content_hash": "ab" * 32}
    assert certificate.payload["key_id"] == certificate.key_id == KEY_ID


def test_serials_are_unguessable_and_copyable(certificate: Certificate) -> None:
    serials = {certificates.new_serial(2026) for _ in range(2000)}
    assert len(serials) == 2000
    assert all(certificates.SERIAL_PATTERN.fullmatch(s) for s in serials | {certificate.serial})
    assert not set("".join(s[8:] for s in serials)) & set("01IL5S8BO")


# --- Offline verification ------------------------------------------------------------------------


def test_the_embedded_payload_verifies_offline(certificate: Certificate, tmp_path: Path) -> None:
    reader = PdfReader(io.BytesIO(pdf_of(certificate)))
    envelope = json.loads(reader.attachments[ATTACHMENT_NAME][0])
    assert envelope["payload"] == certificate.payload
    assert envelope["signature"] == certificate.signature
    ok, output = verify_file(tmp_path, pdf_of(certificate))
    assert ok, output
    assert f"VALID (key {KEY_ID})" in output
    assert NFC_NAME in output and certificate.serial in output


def test_one_changed_byte_of_the_embedded_payload_fails(certificate: Certificate, tmp_path: Path) -> None:
    original = pdf_of(certificate)
    assert original.count(b'"mark": "78.5"') == 1  # the attachment is stored as plain JSON
    altered = original.replace(b'"mark": "78.5"', b'"mark": "79.5"')
    assert len(altered) == len(original)
    ok, output = verify_file(tmp_path, altered)
    assert not ok
    assert "NOT VALID" in output and "does not match" in output


def test_no_single_byte_change_of_the_signed_bytes_is_accepted(certificate: Certificate) -> None:
    message = certificates.canonical_bytes(certificate.payload)
    accepted = 0
    for position in range(len(message)):
        for flip in (0x01, 0x20):
            mutated = bytearray(message)
            mutated[position] ^= flip
            try:
                payload = json.loads(bytes(mutated).decode())
            except (ValueError, UnicodeDecodeError):
                continue
            if certificates.verify_payload(payload, certificate.signature).ok:
                accepted += 1
    assert accepted == 0


def test_a_payload_signed_by_another_key_fails(certificate: Certificate, tmp_path: Path) -> None:
    forger = certificates.SigningKey(KEY_ID, certificates.parse_private_key(new_pair("x").private))
    forged_payload = {**certificate.payload, "candidate": {"name": "Kẻ Giả Mạo", "birth_date": "1990-01-01"}}
    forged_signature = certificates.sign_payload(forged_payload, forger)
    assert not certificates.verify_payload(forged_payload, forged_signature).ok
    pdf = render_certificate(
        payload=forged_payload, token=certificates.make_token(certificate.serial, forged_signature)
    )
    ok, output = verify_file(tmp_path, pdf)
    assert not ok and "does not match" in output

    unknown = {**certificate.payload, "key_id": "rogue-1"}
    rogue = certificates.SigningKey("rogue-1", forger.private_key)
    result = certificates.verify_payload(unknown, certificates.sign_payload(unknown, rogue))
    assert not result.ok and "unknown key" in result.reason


def test_files_that_are_not_certificates_are_not_valid(tmp_path: Path, cert_key: KeyPair) -> None:
    from tests.conftest import pdf_bytes

    for data in (b"", b"%PDF-1.4 garbage", b"\x00" * 100, pdf_bytes()):
        ok, output = verify_file(tmp_path, data)
        assert not ok and "NOT VALID" in output


def test_the_command_exits_0_when_valid_and_1_when_not(certificate: Certificate, tmp_path: Path, cert_key) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf_of(certificate))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(pdf_of(certificate).replace(b'"mark": "78.5"', b'"mark": "98.5"'))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        CERT_SIGNING_KEY=cert_key.private,
        CERT_KEY_ID=cert_key.key_id,
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # offline: the database is never opened
    )
    command = [sys.executable, "manage.py", "verify_certificate"]
    valid = subprocess.run([*command, str(good)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert valid.returncode == 0, valid.stderr
    assert f"VALID (key {KEY_ID})" in valid.stdout
    invalid = subprocess.run([*command, str(bad)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert invalid.returncode == 1
    assert "NOT VALID" in invalid.stderr


def test_a_retired_key_still_verifies_after_rotation(settings, setup: ResultSetup, tmp_path: Path) -> None:
    old_pair = new_pair("hientai-2025")
    use_key(settings, old_pair)
    old = certificates.generate_certificate(setup.entries[1])
    assert old.key_id == "hientai-2025"

    new = new_pair("hientai-2026")
    use_key(settings, new, retired={"hientai-2025": old_pair.public})
    ok, output = verify_file(tmp_path, pdf_of(old))
    assert ok and "VALID (key hientai-2025)" in output
    assert certificates.check_token(certificates.certificate_token(old)).state == "valid"
    fresh = certificates.generate_certificate(setup.entries[2])
    assert fresh.key_id == "hientai-2026"
    assert certificates.verify_pdf(pdf_of(fresh)).ok

    use_key(settings, new)  # the old key forgotten: its certificates no longer verify
    ok, output = verify_file(tmp_path, pdf_of(old))
    assert not ok and "unknown key" in output
    assert certificates.check_token(certificates.certificate_token(old)).state == "invalid"


# --- Keys ---------------------------------------------------------------------------------------


def test_a_demo_key_is_made_once_when_debug_is_on(settings, tmp_path: Path) -> None:
    settings.CERT_SIGNING_KEY = ""
    settings.CERT_KEY_ID = ""
    settings.CERT_DEMO_KEYS = True
    settings.CERT_KEY_DIR = tmp_path / "keys"
    key = certificates.signing_key()
    assert key.key_id.startswith("demo-")
    path = tmp_path / "keys" / certificates.DEMO_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert certificates.signing_key().key_id == key.key_id
    assert key.key_id in certificates.public_keys()


@pytest.mark.django_db
def test_issuing_is_refused_in_production_without_a_key(settings, make_post, cert_key) -> None:
    setup = build_result_set(make_post, count=1)
    settings.CERT_SIGNING_KEY = ""
    settings.CERT_KEY_ID = ""
    settings.CERT_DEMO_KEYS = False
    with pytest.raises(Refused) as refused:
        certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    assert "CERT_SIGNING_KEY" in str(refused.value.message)
    assert not CertificateBatch.objects.exists()
    with pytest.raises(Refused):
        certificates.generate_certificate(setup.entries[0])
    assert not Certificate.objects.exists()


def test_malformed_keys_fail_loudly(settings, cert_key) -> None:
    settings.CERT_SIGNING_KEY = "bm90IGEga2V5"
    with pytest.raises(certificates.CertificateKeyError):
        certificates.signing_key()
    settings.CERT_SIGNING_KEY = cert_key.private
    settings.CERT_PUBLIC_KEYS = {"old": "dG9vIHNob3J0"}
    with pytest.raises(certificates.CertificateKeyError):
        certificates.public_keys()


# --- Generating, issuing, superseding, revoking -------------------------------------------------------


def test_generating_twice_returns_the_same_certificate(setup: ResultSetup) -> None:
    first = certificates.generate_certificate(setup.entries[0])
    second = certificates.generate_certificate(ResultEntry.objects.get(pk=setup.entries[0].pk))
    assert first.pk == second.pk
    assert Certificate.objects.count() == 1
    assert len(default_storage.listdir("certificates")[1]) == 1


def test_issuing_queues_one_batch_and_records_it(setup: ResultSetup) -> None:
    from django_tasks_db.models import DBTaskResult

    batch = certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    assert (batch.status, batch.total, batch.done) == (CertificateBatch.Status.QUEUED, 3, 0)
    assert DBTaskResult.objects.filter(task_path=certificates.TASK_PATH).count() == 2  # two shards
    again = certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    assert again.pk == batch.pk  # a double click queues nothing more
    assert DBTaskResult.objects.filter(task_path=certificates.TASK_PATH).count() == 2
    event = AuditEvent.objects.get(action="certificate.issue")
    assert event.actor_id == setup.hr.pk and event.after["total"] == 3


def test_only_published_results_get_certificates(setup: ResultSetup) -> None:
    ResultSet.objects.filter(pk=setup.result_set.pk).update(status=ResultSet.Status.SUPERSEDED)
    setup.result_set.refresh_from_db()
    with pytest.raises(Refused):
        certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    with pytest.raises(Refused):
        certificates.generate_certificate(ResultEntry.objects.get(pk=setup.entries[0].pk))


def test_superseding_and_revoking(setup: ResultSetup, certificate: Certificate) -> None:
    other = certificates.generate_certificate(setup.entries[1])
    with pytest.raises(Refused):
        certificates.revoke_certificate(certificate=other, by=setup.chair, reason="  ")
    revoked = certificates.revoke_certificate(certificate=other, by=setup.chair, reason="Hồ sơ khai man")
    assert (revoked.status, revoked.status_reason) == (Certificate.Status.REVOKED, "Hồ sơ khai man")
    assert AuditEvent.objects.filter(action="certificate.revoke", object_id=str(other.pk)).exists()

    count = certificates.supersede_certificates(result_set=setup.result_set, reason="Version 2 after an appeal")
    assert count == 1  # the revoked one stays revoked
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.SUPERSEDED
    assert Certificate.objects.get(pk=other.pk).status == Certificate.Status.REVOKED


# --- The verification page ---------------------------------------------------------------------


def verify_page(token: str) -> tuple[int, str, str]:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/verify/{token}/")
    body = response.content.decode()
    state = body.split('data-state="', 1)[1].split('"', 1)[0] if 'data-state="' in body else ""
    return response.status_code, state, body


def test_the_page_shows_a_valid_certificate(settings, certificate: Certificate) -> None:
    token = certificates.certificate_token(certificate)
    assert reverse("certificate_verify", kwargs={"token": token}) == f"/verify/{token}/"
    assert reverse("certificate_verify_form") == certificates.VERIFY_PATH
    assert certificate.payload["verify_url"] == f"{settings.SITE_URL}/verify/"
    status, state, body = verify_page(token)
    assert (status, state) == (200, "valid")
    assert NFC_NAME in body and certificate.serial in body and "Thi viết kiến thức chung" in body
    assert "The signature is authentic and the certificate is in force." in body


def test_the_page_says_superseded_with_the_reason(setup: ResultSetup, certificate: Certificate) -> None:
    certificates.supersede_certificates(result_set=setup.result_set, reason="Replaced by version 2")
    status, state, body = verify_page(certificates.certificate_token(certificate))
    assert (status, state) == (200, "superseded")
    assert "Replaced by version 2" in body and "no longer in force" in body


def test_the_page_says_revoked_with_the_reason(setup: ResultSetup, certificate: Certificate) -> None:
    certificates.revoke_certificate(certificate=certificate, by=setup.chair, reason="Quyết định hủy kết quả số 12")
    status, state, body = verify_page(certificates.certificate_token(certificate))
    assert (status, state) == (200, "revoked")
    assert "Quyết định hủy kết quả số 12" in body


def test_forged_altered_truncated_and_garbage_tokens_are_not_valid(certificate: Certificate, setup) -> None:
    token = certificates.certificate_token(certificate)
    serial, signature = token.split(".")
    other = certificates.generate_certificate(setup.entries[1])
    forger = certificates.SigningKey(KEY_ID, certificates.parse_private_key(new_pair("x").private))
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    tokens = [
        f"{serial}.{certificates.sign_payload(certificate.payload, forger)}",  # signed by another key
        f"{serial}.{flipped}",  # one character of the signature changed
        f"{serial}.{other.signature}",  # another certificate's signature
        f"{other.serial}.{signature}",  # names swapped
        token[:-1],
        token[:40],
        serial,
        f"{serial[:-1]}{'X' if serial[-1] != 'X' else 'Y'}.{signature}",  # one character of the serial changed
        f"{serial}.{signature}A",
        "garbage",
        "%00%ff",
        "HT-2026-..",
        "x" * 300,
        "Nguyễn",
        "....",
        f"{serial}.{signature[:-2]}==",
    ]
    for bad in tokens:
        status, state, body = verify_page(bad)
        assert status != 500, bad
        if state:  # paths Django will not route give its plain 404
            assert state == "invalid", bad
            assert "This is not a valid certificate." in body
        else:
            assert status == 404, bad
    assert verify_page(token)[1] == "valid"


def test_a_payload_edited_in_the_database_is_not_valid(certificate: Certificate) -> None:
    token = certificates.certificate_token(certificate)
    payload = {**certificate.payload, "total": "198.8"}
    Certificate.objects.filter(pk=certificate.pk).update(payload=payload)
    assert verify_page(token)[:2] == (404, "invalid")


def test_the_serial_form_shows_the_status_only(certificate: Certificate) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    spaced = " ".join(certificate.serial.lower())
    body = client.get("/verify/", {"serial": spaced}).content.decode()
    assert 'data-state="valid"' in body and certificate.serial in body
    assert NFC_NAME not in body
    body = client.get("/verify/", {"serial": "HT-2026-AAAAAAAAAA"}).content.decode()
    assert 'data-state="unknown"' in body
    assert client.get("/verify/").status_code == 200


def test_verification_needs_no_login_and_no_mfa(certificate: Certificate, make_user) -> None:
    staff_without_totp = make_user("newstaff@example.vn", Role.HR)
    response = client_for(staff_without_totp).get(f"/verify/{certificates.certificate_token(certificate)}/")
    assert response.status_code == 200


# --- Download access ---------------------------------------------------------------------------------


def test_download_access(setup: ResultSetup, make_user, hr_officer, chair, supervisor, examiner) -> None:
    owner = setup.entries[0].application.candidate
    certificate = certificates.generate_certificate(setup.entries[0])
    url = reverse("certificate_download", kwargs={"serial": certificate.serial})
    another = setup.entries[1].application.candidate
    stranger = make_user("stranger@example.vn", Role.CANDIDATE)
    for user, expected in (
        (owner, 200),
        (hr_officer, 200),
        (chair, 200),
        (supervisor, 200),
        (another, 404),
        (stranger, 404),
        (examiner, 404),
    ):
        response = client_for(user).get(url)
        assert response.status_code == expected, user
        if expected == 200:
            assert response["Content-Type"] == "application/pdf"
            assert response["Cache-Control"] == "private, no-store"
            assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert Client().get(url).status_code == 404
    assert (
        client_for(owner).get(reverse("certificate_download", kwargs={"serial": "HT-2026-AAAAAAAAAA"})).status_code
        == 404
    )


def test_a_lost_file_is_drawn_again_from_the_payload(setup: ResultSetup) -> None:
    certificate = certificates.generate_certificate(setup.entries[0])
    default_storage.delete(certificate.pdf.name)
    response = client_for(setup.entries[0].application.candidate).get(
        reverse("certificate_download", kwargs={"serial": certificate.serial})
    )
    pdf = b"".join(response.streaming_content)
    assert certificates.verify_pdf(pdf).ok


def test_certificate_files_have_no_public_url(certificate: Certificate) -> None:
    for prefix in ("/media/", "/private_media/", "/"):
        assert Client().get(f"{prefix}{certificate.pdf.name}").status_code == 404


# --- HR pages ------------------------------------------------------------------------------------


def test_hr_issues_and_follows_a_batch(setup: ResultSetup) -> None:
    hr = client_for(setup.hr)
    response = hr.post(reverse("certificate_issue", kwargs={"result_set_id": setup.result_set.pk}))
    batch = CertificateBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "certificate_batch", kwargs={"batch_id": batch.pk}
    )
    page = hr.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b'hx-trigger="every 2s"' in page.content
    partial = hr.get(response["Location"], HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and b"<html" not in partial.content

    certificates.run_batch(batch.pk)
    done = hr.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert b'data-status="done"' in done.content and b"every 2s" not in done.content
    assert Certificate.objects.first().serial.encode() in done.content


def test_only_hr_issues_certificates(setup: ResultSetup, chair, examiner) -> None:
    url = reverse("certificate_issue", kwargs={"result_set_id": setup.result_set.pk})
    assert client_for(examiner).post(url).status_code == 403
    assert client_for(chair).post(url).status_code == 403
    assert Client().post(url).status_code == 302  # to the login page
    assert client_for(setup.hr).get(url).status_code == 405
    assert not CertificateBatch.objects.exists()


def test_a_refused_issue_is_shown_to_hr(setup: ResultSetup) -> None:
    ResultSet.objects.filter(pk=setup.result_set.pk).update(status=ResultSet.Status.SUPERSEDED)
    response = client_for(setup.hr).post(
        reverse("certificate_issue", kwargs={"result_set_id": setup.result_set.pk}), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    assert not CertificateBatch.objects.exists()


def test_pdfs_left_by_a_killed_worker_are_swept_once_stale(certificate: Certificate, settings) -> None:
    """store() writes the PDFs before its transaction: a worker killed in between leaves files no row names."""
    media = Path(settings.MEDIA_ROOT) / "certificates"
    stale, young = media / "STALE001.pdf", media / "YOUNG001.pdf"
    for orphan in (stale, young):
        orphan.write_bytes(b"%PDF-1.4 orphan")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(Path(settings.MEDIA_ROOT) / certificate.pdf.name, (hour_ago, hour_ago))  # a real one, as old
    settings.CERT_BATCH_STALE_SECONDS = 600
    out = io.StringIO()
    call_command("resume_certificate_batches", stdout=out)
    assert "Deleted 1 PDF(s) without a certificate: certificates/STALE001.pdf" in out.getvalue()
    assert not stale.exists()
    assert young.exists()  # may belong to a worker still running
    assert default_storage.exists(certificate.pdf.name)
    assert certificates.sweep_orphan_files(older_than=timedelta(0)) == ["certificates/YOUNG001.pdf"]
    assert default_storage.exists(certificate.pdf.name)
