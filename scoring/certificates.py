"""Signed result certificates: keys, payload, serials, issuing, superseding, revoking and verifying.

**What is signed.** The payload is a small JSON object (see :func:`build_payload`): key id,
serial, the result set's version and content hash, campaign, post, organisation, the
candidate's name (NFC) and date of birth, marks per part with the part names, total, rank,
outcome, place and date, the chair's title and name, and the base verification URL. No citizen
ID, no e-mail. Its canonical form (:func:`canonical_bytes`: sorted keys, no whitespace, UTF-8)
is signed with Ed25519; the signature is stored with the certificate and embedded, with the
payload, in the PDF (``hientai-certificate.json``), which ``manage.py verify_certificate``
checks offline.

**The QR token** is ``<serial>.<base64url signature>``, not the whole payload: a payload-carrying
token is ~1,300 characters, a version-30 QR code that costs ~70 ms to encode (≈12 certificates/s)
and is hard to scan at print size; the serial and the signature give a version-8 code. The page
looks the serial up and verifies the token's signature over the registered payload with the
public key of the payload's key id, so a forged or altered token, or a registered payload edited
in the database, reads "not valid"; the status (valid, superseded, revoked) is read live.

**Keys.** ``CERT_SIGNING_KEY`` (PEM, or base64 of the 32 raw bytes) and ``CERT_KEY_ID`` sign;
``CERT_PUBLIC_KEYS`` (``{key_id: base64 raw public key}``) keeps retired keys verifying. Without
a key, and only when ``CERT_DEMO_KEYS`` (= DEBUG), a demo key is made once under
``CERT_KEY_DIR`` with the key id ``demo-…``; otherwise issuing is refused with a clear error.

**Background generation.** :func:`issue_certificates` creates a :class:`CertificateBatch` and
enqueues ``generate_certificates`` (one task per shard, ``CERT_BATCH_SHARDS``). Each task renders
up to ``CERT_BATCH_CHUNK`` certificates outside any transaction, then inserts them in one
transaction with ``ON CONFLICT DO NOTHING`` on the one-certificate-per-entry constraint: a task run
twice, or two tasks on the same entries, still leave exactly one certificate per entry (the losers'
PDF files are deleted). A worker killed mid-batch leaves its task "running" in the queue and the
batch unfinished: :func:`resume_certificate_batch` (the HR batch page, or ``manage.py
resume_certificate_batches``) marks the dead task failed and enqueues one task for what is left.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.services import record
from config.errors import Refused
from config.tasks import enqueue_with_change
from exams.models import CouncilMember
from exams.services import current_rules
from scoring.certificate_pdf import ATTACHMENT_NAME, ENVELOPE_FORMAT, outcome_text, render_certificate
from scoring.models import CODE_ALPHABET, Certificate, CertificateBatch, ResultEntry, ResultSet

logger = logging.getLogger(__name__)

PAYLOAD_TYPE = "hientai.result-certificate"
PAYLOAD_VERSION = 1
SERIAL_PREFIX = "HT"
SERIAL_RANDOM_LENGTH = 10
SERIAL_PATTERN = re.compile(rf"^{SERIAL_PREFIX}-[0-9]{{4}}-[{CODE_ALPHABET}]{{{SERIAL_RANDOM_LENGTH}}}$")
SIGNATURE_LENGTH = 86  # base64url of 64 bytes, unpadded
TOKEN_PATTERN = re.compile(r"^(?P<serial>[A-Z0-9-]{1,40})\.(?P<signature>[A-Za-z0-9_-]{86})$")
MAX_TOKEN_LENGTH = 200
MAX_PDF_BYTES = 10 * 1024 * 1024
DEMO_KEY_FILE = "demo-signing-key.pem"
TASK_PATH = "scoring.certificate_tasks.generate_certificates"
VERIFY_PATH = "/verify/"  # certificate_verify_form; exempt from the staff-MFA redirect (accounts.middleware)


class CertificateKeyError(ImproperlyConfigured):
    """The signing or verification keys are missing or malformed."""


# --- Encoding helpers -------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Strict base64url: only the alphabet, and only the canonical encoding (no trailing-bit games)."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _b64_any(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not (how operators paste keys)."""
    cleaned = "".join(text.split())
    cleaned = cleaned.replace("-", "+").replace("_", "/")
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    """The signed bytes: JSON, sorted keys, no whitespace, UTF-8 without escapes, no floats."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def nfc_text(value: object) -> str:
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


# --- Keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


def public_key_text(key: Ed25519PublicKey) -> str:
    """The base64 of the 32 raw bytes: the form ``CERT_PUBLIC_KEYS`` takes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def new_key_pair() -> tuple[str, str]:
    """(private, public) as base64 of the raw bytes, for ``CERT_SIGNING_KEY`` and ``CERT_PUBLIC_KEYS``."""
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode("ascii"), public_key_text(private.public_key())


def parse_private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    try:
        if "BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise CertificateKeyError("CERT_SIGNING_KEY must be an Ed25519 key")
            return key
        raw = _b64_any(text)
        if len(raw) != 32:
            raise CertificateKeyError("CERT_SIGNING_KEY must be the 32 raw bytes of an Ed25519 key (base64) or PEM")
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise CertificateKeyError(f"CERT_SIGNING_KEY cannot be read: {exc}") from exc


def parse_public_key(text: str) -> Ed25519PublicKey:
    text = text.strip()
    try:
        if "BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise CertificateKeyError("a public key in CERT_PUBLIC_KEYS is not an Ed25519 key")
            return key
        raw = _b64_any(text)
        if len(raw) != 32:
            raise CertificateKeyError("a public key in CERT_PUBLIC_KEYS is not 32 raw bytes (base64)")
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise CertificateKeyError(f"a public key in CERT_PUBLIC_KEYS cannot be read: {exc}") from exc


def _key_settings() -> tuple[str, str, str, bool, str]:
    public = getattr(settings, "CERT_PUBLIC_KEYS", {}) or {}
    public_text = public if isinstance(public, str) else json.dumps(public, sort_keys=True)
    return (
        getattr(settings, "CERT_SIGNING_KEY", "") or "",
        getattr(settings, "CERT_KEY_ID", "") or "",
        public_text,
        bool(getattr(settings, "CERT_DEMO_KEYS", False)),
        str(getattr(settings, "CERT_KEY_DIR", Path(settings.BASE_DIR) / "keys")),
    )


def _demo_key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"demo-{hashlib.sha256(raw).hexdigest()[:12]}"


def _read_demo_key(directory: Path) -> Ed25519PrivateKey | None:
    path = directory / DEMO_KEY_FILE
    if not path.exists():
        return None
    return parse_private_key(path.read_text())


def _create_demo_key(directory: Path) -> Ed25519PrivateKey:
    """Made once; two processes racing both end up with the file that won (os.link is atomic)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    existing = _read_demo_key(directory)
    if existing is not None:
        return existing
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".demo-", suffix=".pem")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, pem)
        os.close(handle)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, directory / DEMO_KEY_FILE)
    finally:
        os.unlink(temporary)
    logger.warning("Generated a DEMO certificate signing key in %s: never use it in production", directory)
    return parse_private_key((directory / DEMO_KEY_FILE).read_text())


@lru_cache(maxsize=8)
def _signing_key_for(config: tuple[str, str, str, bool, str]) -> SigningKey:
    key_text, key_id, _public, demo, directory = config
    if key_text:
        if not key_id:
            raise CertificateKeyError("CERT_KEY_ID must be set with CERT_SIGNING_KEY")
        if len(key_id) > 40 or not re.fullmatch(r"[A-Za-z0-9._-]+", key_id):
            raise CertificateKeyError("CERT_KEY_ID: at most 40 letters, digits, dots, dashes or underscores")
        return SigningKey(key_id, parse_private_key(key_text))
    if not demo:
        raise CertificateKeyError(
            "No certificate signing key is configured: set CERT_SIGNING_KEY and CERT_KEY_ID "
            "(demo keys are only made when DEBUG is on)."
        )
    private = _create_demo_key(Path(directory))
    return SigningKey(_demo_key_id(private.public_key()), private)


@lru_cache(maxsize=8)
def _public_keys_for(config: tuple[str, str, str, bool, str]) -> dict[str, Ed25519PublicKey]:
    key_text, key_id, public_text, demo, directory = config
    keys: dict[str, Ed25519PublicKey] = {}
    try:
        listed = json.loads(public_text) if public_text.strip() else {}
    except json.JSONDecodeError as exc:
        raise CertificateKeyError(f"CERT_PUBLIC_KEYS must be a JSON object: {exc}") from exc
    if not isinstance(listed, dict):
        raise CertificateKeyError("CERT_PUBLIC_KEYS must be a JSON object {key_id: base64 public key}")
    for listed_id, text in listed.items():
        keys[str(listed_id)] = parse_public_key(str(text))
    if key_text:
        current = _signing_key_for(config)
        keys[current.key_id] = current.public_key
    elif demo:
        private = _read_demo_key(Path(directory))
        if private is not None:
            keys[_demo_key_id(private.public_key())] = private.public_key()
    return keys


def signing_key() -> SigningKey:
    """The key new certificates are signed with (raises :class:`CertificateKeyError` if there is none)."""
    return _signing_key_for(_key_settings())


def public_keys() -> dict[str, Ed25519PublicKey]:
    """Every key a certificate may have been signed with: retired ones, the current one, the demo one."""
    return _public_keys_for(_key_settings())


def sign_payload(payload: dict[str, Any], key: SigningKey) -> str:
    return b64url(key.private_key.sign(canonical_bytes(payload)))


# --- Offline verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str
    key_id: str = ""
    payload: dict[str, Any] | None = None


def verify_payload(
    payload: object, signature: object, *, keys: dict[str, Ed25519PublicKey] | None = None
) -> Verification:
    """Checks a payload and its base64url signature with the public key of the payload's key id."""
    keys = public_keys() if keys is None else keys
    if not isinstance(payload, dict) or payload.get("type") != PAYLOAD_TYPE:
        return Verification(False, "the data is not a Hiền Tài certificate payload")
    key_id = payload.get("key_id")
    if not isinstance(key_id, str) or key_id not in keys:
        return Verification(False, f"signed with an unknown key ({key_id!s:.40})", str(key_id)[:40])
    if not isinstance(signature, str):
        return Verification(False, "the signature is missing", key_id)
    try:
        raw_signature = unb64url(signature)
        message = canonical_bytes(payload)
    except (ValueError, TypeError):
        return Verification(False, "the signature or the data is malformed", key_id)
    if len(raw_signature) != 64:
        return Verification(False, "the signature is malformed", key_id)
    try:
        keys[key_id].verify(raw_signature, message)
    except InvalidSignature:
        return Verification(False, "the signature does not match the data (altered, or signed by another key)", key_id)
    return Verification(True, "the signature is valid", key_id, payload)


def read_envelope(data: bytes) -> tuple[object, object]:
    """The payload and signature embedded in a certificate PDF; ValueError if there are none."""
    from pypdf import PdfReader

    if len(data) > MAX_PDF_BYTES:
        raise ValueError("the file is too large to be a certificate")
    try:
        reader = PdfReader(io.BytesIO(data))
        attachments = reader.attachments
        contents = attachments.get(ATTACHMENT_NAME) if ATTACHMENT_NAME in attachments else None
    except Exception as exc:  # noqa: BLE001 - a hostile file may break the parser in many ways
        raise ValueError(f"the file is not a readable PDF ({type(exc).__name__})") from exc
    if not contents:
        raise ValueError(f"the PDF has no embedded {ATTACHMENT_NAME}")
    try:
        envelope = json.loads(contents[0])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the embedded certificate data is not JSON") from exc
    if not isinstance(envelope, dict) or envelope.get("format") != ENVELOPE_FORMAT or envelope.get("alg") != "Ed25519":
        raise ValueError("the embedded data is not a Hiền Tài certificate envelope")
    return envelope.get("payload"), envelope.get("signature")


def verify_pdf(data: bytes, *, keys: dict[str, Ed25519PublicKey] | None = None) -> Verification:
    """Offline check of a certificate PDF: the embedded payload against its embedded signature."""
    try:
        payload, signature = read_envelope(data)
    except ValueError as exc:
        return Verification(False, str(exc))
    return verify_payload(payload, signature, keys=keys)


# --- Serials and tokens -----------------------------------------------------------------------


def new_serial(year: int) -> str:
    """'HT-2026-' and 10 characters without look-alikes: ~47 random bits, read aloud and typed by hand."""
    return f"{SERIAL_PREFIX}-{year:04d}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(SERIAL_RANDOM_LENGTH))


def normalise_serial(text: str) -> str:
    return "".join(str(text).split()).upper()


def make_token(serial: str, signature: str) -> str:
    return f"{serial}.{signature}"


def verify_base_url() -> str:
    # Not reverse(): in a worker, the first reverse() imports every view of the project (seconds).
    # The test suite checks this is where certificate_verify_form is routed.
    return f"{settings.SITE_URL}{VERIFY_PATH}"


def certificate_token(certificate: Certificate) -> str:
    return make_token(certificate.serial, certificate.signature)


# --- Payload ----------------------------------------------------------------------------------


def format_decimal(value: Decimal | None) -> str | None:
    """160.80 → "160.8"; 160.00 → "160.0": at least one decimal, no trailing zeros."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    if "." not in text:
        text += ".0"
    return text


@dataclass(frozen=True)
class SetContext:
    """What every certificate of one result set shares (read once per batch)."""

    result_set_id: int
    version: int
    content_hash: str
    authority: str
    campaign: str
    parts: tuple[tuple[str, str], ...]  # (code, name) in the rules' order
    chair_title: str
    chair_name: str
    place: str
    day: date
    verify_url: str

    @property
    def year(self) -> int:
        return self.day.year


def _part_names(result_set: ResultSet) -> tuple[tuple[str, str], ...]:
    content = result_set.content if isinstance(result_set.content, dict) else {}
    listed = content.get("parts")
    if isinstance(listed, list) and all(isinstance(p, dict) and "code" in p for p in listed):
        return tuple((str(p["code"]), nfc_text(p.get("name") or p["code"])) for p in listed)
    rules = current_rules(result_set.campaign)
    if rules is None:
        return ()
    return tuple((part.code, nfc_text(part.name)) for part in rules.parts.all())


def set_context(result_set: ResultSet) -> SetContext:
    campaign = result_set.campaign
    seat = CouncilMember.objects.filter(campaign=campaign, role=CouncilMember.Role.CHAIR).select_related("user").first()
    # The council's chair; failing that, whoever approved this version (the chair, by the approval rule).
    chair = seat.user if seat is not None else result_set.approved_by
    if chair is None or not chair.full_name.strip():
        raise Refused(
            _("The council of this campaign has no chair: the certificates need the chair's name."), code="no_chair"
        )
    if result_set.published_at is None or not result_set.content_hash:
        raise Refused(_("Certificates are issued only for published results."), code="not_published")
    return SetContext(
        result_set_id=result_set.pk,
        version=result_set.version,
        content_hash=result_set.content_hash,
        authority=nfc_text(campaign.authority.name),
        campaign=nfc_text(campaign.title),
        parts=_part_names(result_set),
        chair_title=nfc_text(getattr(settings, "CERT_CHAIR_TITLE", "Chủ tịch Hội đồng thi tuyển")),
        chair_name=nfc_text(chair.full_name),
        place=nfc_text(getattr(settings, "CERT_PLACE", "Quảng Nam")),
        day=timezone.localdate(result_set.published_at),
        verify_url=verify_base_url(),
    )


def _birth_date(entry: ResultEntry) -> str | None:
    snapshot = entry.application.profile_snapshot or {}
    value = snapshot.get("date_of_birth") if isinstance(snapshot, dict) else None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    profile = getattr(entry.application.candidate, "profile", None)
    return profile.date_of_birth.isoformat() if profile is not None and profile.date_of_birth else None


def _marks(entry: ResultEntry, context: SetContext) -> list[dict[str, Any]]:
    part_marks = entry.part_marks if isinstance(entry.part_marks, dict) else {}
    names = dict(context.parts)
    codes = [code for code, _name in context.parts]
    codes += sorted(code for code in part_marks if code not in names)
    marks = []
    for code in codes:
        value = part_marks.get(code)
        marks.append({"code": code, "name": names.get(code, code), "mark": None if value is None else str(value)})
    return marks


def build_payload(entry: ResultEntry, *, context: SetContext, serial: str, key_id: str) -> dict[str, Any]:
    """The certified data of one entry; every text NFC. Minimal personal data: name and date of birth."""
    return {
        "type": PAYLOAD_TYPE,
        "v": PAYLOAD_VERSION,
        "key_id": key_id,
        "serial": serial,
        "result_set": {"version": context.version, "content_hash": context.content_hash},
        "authority": context.authority,
        "campaign": context.campaign,
        "post": nfc_text(entry.post.title),
        "organisation": nfc_text(entry.post.organisation.name),
        "candidate": {"name": nfc_text(entry.full_name), "birth_date": _birth_date(entry)},
        "marks": _marks(entry, context),
        "total": format_decimal(entry.total),
        "rank": entry.rank,
        "outcome": entry.outcome,
        "outcome_text": outcome_text(entry.outcome),
        "place": context.place,
        "date": context.day.isoformat(),
        "chair": {"title": context.chair_title, "name": context.chair_name},
        "verify_url": context.verify_url,
    }


# --- Generation -------------------------------------------------------------------------------


@dataclass
class Prepared:
    entry_id: int
    serial: str
    payload: dict[str, Any]
    signature: str
    key_id: str
    pdf: bytes

    @property
    def file_name(self) -> str:
        return f"certificates/{self.serial}.pdf"


def prepare(entry: ResultEntry, *, context: SetContext, key: SigningKey) -> Prepared:
    """Payload, signature and PDF of one entry: CPU only, no database write."""
    serial = new_serial(context.year)
    payload = build_payload(entry, context=context, serial=serial, key_id=key.key_id)
    signature = sign_payload(payload, key)
    pdf = render_certificate(payload=payload, token=make_token(serial, signature))
    return Prepared(entry.pk, serial, payload, signature, key.key_id, pdf)


def _entries(result_set_id: int) -> Any:
    return ResultEntry.objects.filter(result_set_id=result_set_id).select_related(
        "post__organisation", "application__candidate__profile"
    )


def store(prepared: Sequence[Prepared], *, result_set_id: int) -> dict[int, Certificate]:
    """Writes the PDFs, then inserts the rows in one transaction, skipping entries that already have one.

    Returns the certificate of every entry given (ours, or the one another worker made first).
    Raises :class:`Refused` if the result set is no longer published (it was superseded meanwhile).
    """
    written = []
    try:
        for item in prepared:
            written.append(default_storage.save(item.file_name, ContentFile(item.pdf)))
        with transaction.atomic():
            # Locks the version row: superseding it (which updates the row) waits for this insert,
            # so supersede_certificates() then sees these certificates; or this sees "superseded".
            published = (
                ResultSet.objects.select_for_update()
                .filter(pk=result_set_id, status=ResultSet.Status.PUBLISHED)
                .exists()
            )
            if not published:
                raise Refused(_("These results are no longer the published version."), code="not_published")
            Certificate.objects.bulk_create(
                [
                    Certificate(
                        entry_id=item.entry_id,
                        serial=item.serial,
                        payload=item.payload,
                        signature=item.signature,
                        key_id=item.key_id,
                        pdf=name,
                    )
                    for item, name in zip(prepared, written, strict=True)
                ],
                ignore_conflicts=True,
            )
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    certificates = {
        c.entry_id: c for c in Certificate.objects.filter(entry_id__in=[item.entry_id for item in prepared])
    }
    kept = {c.pdf.name for c in certificates.values()}
    for name in written:
        if name not in kept:
            default_storage.delete(name)  # another worker certified this entry first
    return certificates


def generate_certificates_for(entries: Sequence[ResultEntry]) -> dict[int, Certificate]:
    """Get-or-create the certificates of entries of one result set, as one insert transaction."""
    if not entries:
        return {}
    result_set = entries[0].result_set
    if any(entry.result_set_id != result_set.pk for entry in entries):
        raise ValueError("entries of one result set at a time")
    existing = {c.entry_id: c for c in Certificate.objects.filter(entry__in=entries)}
    missing = [entry for entry in entries if entry.pk not in existing]
    if not missing:
        return existing
    if result_set.status != ResultSet.Status.PUBLISHED:
        raise Refused(_("Certificates are issued only for published results."), code="not_published")
    try:
        key = signing_key()
    except CertificateKeyError as exc:
        raise Refused(str(exc), code="no_signing_key") from exc
    stored, failures = certify(missing, context=set_context(result_set), key=key)
    if failures:
        raise RuntimeError("; ".join(failures))
    return {**existing, **stored}


def certify(
    entries: Sequence[ResultEntry], *, context: SetContext, key: SigningKey, attempts: int = 3
) -> tuple[dict[int, Certificate], list[str]]:
    """Prepares and stores the certificates of entries (one insert transaction per attempt).

    An entry left without a certificate after an insert (its random serial was already taken:
    ~1 in 10^14) is prepared again with a new serial. Returns the certificates and the failures.
    """
    certified: dict[int, Certificate] = {}
    failures: list[str] = []
    pending = list(entries)
    for _attempt in range(attempts):
        prepared = []
        for entry in pending:
            try:
                prepared.append(prepare(entry, context=context, key=key))
            except Exception as exc:  # noqa: BLE001 - one bad entry must not stop the others
                logger.exception("Certificate of result entry %s failed", entry.pk)
                failures.append(f"entry {entry.pk}: {type(exc).__name__}: {exc}")
        if not prepared:
            break
        certified.update(store(prepared, result_set_id=context.result_set_id))
        pending = [entry for entry in pending if entry.pk not in certified and not _failed(entry, failures)]
        if not pending:
            break
    failures += [f"entry {entry.pk}: no free serial" for entry in pending]
    return certified, failures


def _failed(entry: ResultEntry, failures: list[str]) -> bool:
    return any(text.startswith(f"entry {entry.pk}:") for text in failures)


def generate_certificate(entry: ResultEntry) -> Certificate:
    """The entry's certificate: the existing one, or exactly one new one (signed payload and PDF).

    Safe under concurrency: a second concurrent call inserts nothing (unique entry) and returns
    the first call's row.
    """
    return generate_certificates_for([entry])[entry.pk]


# --- Batches ----------------------------------------------------------------------------------


def batch_certificate_count(batch: CertificateBatch) -> int:
    return Certificate.objects.filter(entry__result_set_id=batch.result_set_id).count()


def _uses_database_queue() -> bool:
    from django_tasks_db import DatabaseBackend

    from scoring.certificate_tasks import generate_certificates

    # get_backend(), not django_tasks.default_task_backend: that one is a proxy isinstance() cannot see through.
    return isinstance(generate_certificates.get_backend(), DatabaseBackend)


def _enqueue(batch: CertificateBatch, shards: int) -> None:
    from scoring.certificate_tasks import generate_certificates

    for shard in range(shards):
        enqueue_with_change(generate_certificates, batch_id=batch.pk, shard=shard, shards=shards)


def issue_certificates(*, result_set: ResultSet, by: User) -> CertificateBatch:
    """Queues the generation of a published version's certificates and returns its batch at once.

    A batch still queued or running for the version is returned as it is (a second click does
    not queue the work twice).
    """
    if result_set.status != ResultSet.Status.PUBLISHED:
        raise Refused(_("Certificates are issued only for published results."), code="not_published")
    try:
        signing_key()
    except CertificateKeyError as exc:
        raise Refused(str(exc), code="no_signing_key") from exc
    # A missing chair does not block the publication this is part of: the batch fails with the
    # reason on the HR page, and is resumed once the council has its chair.
    with transaction.atomic():
        ResultSet.objects.select_for_update().filter(pk=result_set.pk).first()
        active = (
            CertificateBatch.objects.filter(
                result_set=result_set, status__in=[CertificateBatch.Status.QUEUED, CertificateBatch.Status.RUNNING]
            )
            .order_by("-created_at")
            .first()
        )
        if active is not None:
            return active
        total = ResultEntry.objects.filter(result_set=result_set).count()
        batch = CertificateBatch.objects.create(
            result_set=result_set,
            total=total,
            done=Certificate.objects.filter(entry__result_set=result_set).count(),
            created_by=by,
        )
        record(
            actor=by,
            action="certificate.issue",
            obj=batch,
            campaign_id=result_set.campaign_id,
            after={"result_set": result_set.pk, "version": result_set.version, "total": total},
        )
        shards = max(1, min(int(getattr(settings, "CERT_BATCH_SHARDS", 2)), total or 1))
        _enqueue(batch, shards)
    return batch


@dataclass(frozen=True)
class BatchRun:
    created: int
    failed: int
    remaining: int


def _set_progress(batch_id: int, result_set_id: int) -> int:
    done = Certificate.objects.filter(entry__result_set_id=result_set_id).count()
    CertificateBatch.objects.filter(pk=batch_id).exclude(status=CertificateBatch.Status.DONE).update(done=done)
    return done


def _finish(batch: CertificateBatch, *, failures: list[str]) -> None:
    done = Certificate.objects.filter(entry__result_set_id=batch.result_set_id).count()
    with transaction.atomic():
        current = CertificateBatch.objects.select_for_update().get(pk=batch.pk)
        current.done = done
        if done >= current.total:
            current.status = CertificateBatch.Status.DONE
            current.error = ""
            current.finished_at = current.finished_at or timezone.now()
        elif failures:
            current.status = CertificateBatch.Status.FAILED
            current.error = "\n".join(failures[:20])
            current.finished_at = timezone.now()
        current.save(update_fields=["done", "status", "error", "finished_at"])


def run_batch(batch_id: int, *, shard: int = 0, shards: int = 1) -> BatchRun:
    """The work of ``generate_certificates``: every entry of the shard without a certificate, by chunks.

    Idempotent: entries that have a certificate are skipped, the insert ignores an entry another
    worker certified meanwhile. A failed entry is reported and the others go on.
    """
    batch = CertificateBatch.objects.select_related("result_set__campaign__authority").get(pk=batch_id)
    if batch.status == CertificateBatch.Status.DONE:
        return BatchRun(0, 0, 0)
    result_set = batch.result_set
    CertificateBatch.objects.filter(pk=batch.pk).exclude(status=CertificateBatch.Status.DONE).update(
        status=CertificateBatch.Status.RUNNING, error=""
    )
    failures: list[str] = []
    created = 0
    started_at = timezone.now()
    try:
        if result_set.status != ResultSet.Status.PUBLISHED:
            raise Refused(_("These results are no longer the published version."), code="not_published")
        key = signing_key()
        context = set_context(result_set)
    except (Refused, CertificateKeyError) as exc:
        failures.append(str(getattr(exc, "message", exc)))
        _finish(batch, failures=failures)
        return BatchRun(0, 0, batch.total)

    pending = [
        pk
        for pk in _entries(result_set.pk).filter(certificate__isnull=True).order_by("pk").values_list("pk", flat=True)
        if pk % shards == shard
    ]
    chunk_size = max(1, int(getattr(settings, "CERT_BATCH_CHUNK", 200)))
    for start in range(0, len(pending), chunk_size):
        chunk = pending[start : start + chunk_size]
        entries = list(_entries(result_set.pk).filter(pk__in=chunk, certificate__isnull=True))
        if not entries:
            continue
        try:
            stored, chunk_failures = certify(entries, context=context, key=key)
        except Refused as refused:  # the version was superseded meanwhile
            failures.append(str(refused.message))
            break
        failures += chunk_failures
        created += sum(1 for certificate in stored.values() if certificate.created_at >= started_at)
        _set_progress(batch.pk, result_set.pk)
    _finish(batch, failures=failures)
    remaining = ResultEntry.objects.filter(result_set=result_set, certificate__isnull=True).count()
    return BatchRun(created, len(failures), remaining)


def _stale_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "CERT_BATCH_STALE_SECONDS", 300)))


def last_progress(batch: CertificateBatch) -> datetime:
    latest = Certificate.objects.filter(entry__result_set_id=batch.result_set_id).aggregate(at=Max("created_at"))["at"]
    return max(moment for moment in (batch.created_at, latest) if moment is not None)


def _batch_tasks(batch: CertificateBatch) -> Any:
    """The queue rows of the batch's tasks (database backend only), or None."""
    from django_tasks_db.models import DBTaskResult

    if not _uses_database_queue():
        return None
    return DBTaskResult.objects.filter(task_path=TASK_PATH, args_kwargs__kwargs__batch_id=batch.pk)


def is_stalled(batch: CertificateBatch, *, now: datetime | None = None) -> bool:
    """Unfinished, and no certificate made for a while (``CERT_BATCH_STALE_SECONDS``), or failed."""
    if batch.status == CertificateBatch.Status.DONE:
        return False
    if batch.status == CertificateBatch.Status.FAILED:
        return True
    return (now or timezone.now()) - last_progress(batch) > _stale_after()


def resume_certificate_batch(batch: CertificateBatch, *, by: User | None = None, force: bool = False) -> bool:
    """Re-queues an unfinished batch whose worker died (or that failed). Returns whether it queued a task.

    With the database backend, the dead worker's task stays "running" forever: it is marked failed
    here, so the queue shows no phantom work. A task still waiting for a worker is left alone.
    ``force`` skips the staleness check (an operator who knows the worker is dead).
    """
    from django_tasks_db.compat import TaskResultStatus

    with transaction.atomic():
        batch = CertificateBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status == CertificateBatch.Status.DONE:
            return False
        if not force and not is_stalled(batch):
            return False
        tasks = _batch_tasks(batch)
        if tasks is not None:
            if tasks.filter(status=TaskResultStatus.READY).exists() and not force:
                return False
            abandoned = tasks.filter(status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path="scoring.certificates.WorkerLost",
                traceback="The worker stopped while running this task; the batch was resumed.",
            )
        else:
            abandoned = 0
        batch.status = CertificateBatch.Status.QUEUED
        batch.error = ""
        batch.finished_at = None
        batch.done = batch_certificate_count(batch)
        batch.save(update_fields=["status", "error", "finished_at", "done"])
        record(
            actor=by,
            action="certificate.resume",
            obj=batch,
            campaign_id=batch.result_set.campaign_id,
            after={"done": batch.done, "total": batch.total, "abandoned_tasks": abandoned, "forced": force},
        )
        _enqueue(batch, 1)
    logger.warning("Certificate batch %s resumed (%s abandoned task(s))", batch.pk, abandoned)
    return True


def resume_stalled_batches(*, by: User | None = None, force: bool = False) -> list[int]:
    """Resumes every unfinished batch that stalled; the ids of those re-queued."""
    resumed = []
    unfinished = CertificateBatch.objects.exclude(status=CertificateBatch.Status.DONE).order_by("pk")
    for batch in unfinished:
        if resume_certificate_batch(batch, by=by, force=force):
            resumed.append(batch.pk)
    return resumed


def sweep_orphan_files(*, older_than: timedelta) -> list[str]:
    """Deletes certificate PDFs that no certificate refers to, written more than `older_than` ago.

    store() writes the PDFs before its transaction and deletes them when it fails; a worker killed in
    between leaves them behind. A younger file may belong to a worker still running, so it is kept.
    Returns the names deleted.
    """
    directory = "certificates"
    try:
        _dirs, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return []
    names = {f"{directory}/{name}" for name in files if name.endswith(".pdf")}
    kept = set(Certificate.objects.filter(pdf__in=names).values_list("pdf", flat=True))
    cutoff = timezone.now() - older_than
    deleted = []
    for name in sorted(names - kept):
        if default_storage.get_modified_time(name) < cutoff:
            default_storage.delete(name)
            deleted.append(name)
    return deleted


# --- Superseding and revoking -----------------------------------------------------------------


def supersede_certificates(*, result_set: ResultSet, reason: str) -> int:
    """Marks every still-valid certificate of a (now superseded) version superseded; returns how many.

    Call it in the transaction that supersedes the version: the row lock taken there makes a
    generation in progress either finish before (and be superseded here) or stop.
    """
    with transaction.atomic():
        count = (
            Certificate.objects.filter(entry__result_set=result_set, status=Certificate.Status.VALID)
            .select_for_update()
            .update(status=Certificate.Status.SUPERSEDED, status_reason=reason)
        )
        if count:
            record(
                actor=None,
                action="certificate.supersede",
                obj=result_set,
                campaign_id=result_set.campaign_id,
                after={"version": result_set.version, "certificates": count, "reason": reason},
            )
    return count


def revoke_certificate(*, certificate: Certificate, by: User, reason: str) -> Certificate:
    """Revokes one certificate (the verification page says so at once, with the reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Give the reason for the revocation."), code="reason_required")
    with transaction.atomic():
        current = Certificate.objects.select_for_update().select_related("entry__result_set").get(pk=certificate.pk)
        if current.status == Certificate.Status.REVOKED:
            raise Refused(_("This certificate is already revoked."), code="already_revoked")
        before = {"status": current.status, "status_reason": current.status_reason}
        current.status = Certificate.Status.REVOKED
        current.status_reason = reason
        current.save(update_fields=["status", "status_reason"])
        record(
            actor=by,
            action="certificate.revoke",
            obj=current,
            campaign_id=current.entry.result_set.campaign_id,
            before=before,
            after={"status": current.status, "status_reason": reason, "serial": current.serial},
        )
    return current


# --- Online verification (the QR page) ----------------------------------------------------------


State = Literal["valid", "superseded", "revoked", "invalid"]


@dataclass(frozen=True)
class TokenCheck:
    state: State
    reason: str = ""
    certificate: Certificate | None = None
    payload: dict[str, Any] | None = None
    key_id: str = ""

    @property
    def is_authentic(self) -> bool:
        return self.state != "invalid"


def check_token(token: object) -> TokenCheck:
    """Verifies a QR token; never raises: anything wrong is an "invalid" answer with the reason."""
    try:
        return _check_token(token)
    except Exception:  # noqa: BLE001 - a verification page must answer, whatever it is given
        logger.exception("Certificate token check failed")
        return TokenCheck("invalid", "the token could not be checked")


def _check_token(token: object) -> TokenCheck:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return TokenCheck("invalid", "the token is malformed")
    match = TOKEN_PATTERN.fullmatch(token)
    if match is None or not SERIAL_PATTERN.fullmatch(match["serial"]):
        return TokenCheck("invalid", "the token is malformed or truncated")
    certificate = Certificate.objects.select_related("entry__result_set").filter(serial=match["serial"]).first()
    if certificate is None:
        return TokenCheck("invalid", "no certificate with this serial is registered")
    payload = certificate.payload
    verification = verify_payload(payload, match["signature"])
    if not verification.ok:
        return TokenCheck("invalid", verification.reason, key_id=verification.key_id)
    if payload.get("serial") != certificate.serial:
        return TokenCheck("invalid", "the registered data do not match the serial")
    state: State = "valid"
    if certificate.status == Certificate.Status.REVOKED:
        state = "revoked"
    elif certificate.status == Certificate.Status.SUPERSEDED:
        state = "superseded"
    return TokenCheck(state, certificate.status_reason, certificate, payload, verification.key_id)


def lookup_serial(text: str) -> Certificate | None:
    serial = normalise_serial(text)
    if not SERIAL_PATTERN.fullmatch(serial):
        return None
    return Certificate.objects.filter(serial=serial).first()


def certificates_of(result_set: ResultSet) -> Iterable[Certificate]:
    return Certificate.objects.filter(entry__result_set=result_set).select_related("entry").order_by("entry__full_name")
