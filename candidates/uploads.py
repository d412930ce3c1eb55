"""Validation of candidate dossier files, and metadata stripping for blind marking.

Only PDF, JPEG and PNG are accepted. The type comes from the content (magic bytes,
then a real parse), never from the name, and the name's extension must agree with it.
Every refusal is an :class:`UploadRejected` with a stable ``code`` and a message for
the candidate. In a Django form::

    try:
        inspected = inspect_upload(data, filename=upload.name, max_bytes=MAX_BYTES)
    except UploadRejected as rejected:
        raise ValidationError(rejected.message, code=rejected.code, params=rejected.params)

What this module cannot do on its own (see also the module constants):

- bound CPU time and memory in-process: it sets pypdf's and Pillow's own limits, but a
  hostile file can still cost a few seconds of CPU. Run it in a worker with an address
  space and time limit (RLIMIT_AS, a task timeout) for defence in depth;
- make polyglots impossible: data hidden *inside* comments, chunks or compressed streams
  is not detected. Serve stored files with their canonical ``content_type``,
  ``X-Content-Type-Options: nosniff`` and ``Content-Disposition: attachment``, from a
  separate origin, and prefer storing the output of the ``strip_*`` functions.

No Django import other than ``gettext_lazy``, so it is tested without a database.
"""

import hashlib
import io
import logging
import threading
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, JpegImagePlugin
from pypdf import PdfReader, PdfWriter, apply_configuration
from pypdf.filters import decode_stream_data
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject, StreamObject

Kind = Literal["pdf", "jpeg", "png"]
RejectionCode = Literal[
    "empty",
    "too_large",
    "quota_exceeded",
    "unsupported_type",
    "extension_mismatch",
    "pdf_encrypted",
    "pdf_javascript",
    "pdf_unparseable",
    "pdf_too_many_pages",
    "image_too_many_pixels",
    "image_unparseable",
    "trailing_data",
    "bad_name",
]

DEFAULT_MAX_PIXELS = 40_000_000  # an A4 page scanned at 600 dpi is 35 million pixels
DEFAULT_MAX_PAGES = 300

# Pillow refuses larger images process-wide (DecompressionBombError above twice this,
# a warning above it, which inspect_upload turns into an error). Only ever tightened:
# a caller's max_pixels above it is therefore capped at it.
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > DEFAULT_MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS

# pypdf limits while reading an upload. pypdf's defaults (75 MB per stream, 300 MB of
# decoding work) suit trusted files; dossier documents need far less.
_PDF_STREAM_MAX_OUTPUT = 32 * 1024 * 1024
_PDF_TOTAL_DECODED_MAX = 128 * 1024 * 1024  # all non-image streams of one file, summed
_PDF_MAX_OBJECTS = 200_000  # containers visited looking for scripts (~20 µs each to parse)
_PDF_ROOT_RECOVERY_LIMIT = 1_000

# Actions that run code, touch the file system or the network, or open other files.
# /URI is allowed for web and mail links only (file:// and UNC targets leak credentials).
_PDF_FORBIDDEN_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/ImportData",
        "/SubmitForm",
        "/GoToE",
        "/GoToR",
        "/Rendition",
        "/RichMediaExecute",
        "/Movie",
        "/Sound",
    }
)
_PDF_SCRIPT_KEYS = frozenset({"/JS", "/JavaScript", "/XFA"})
_PDF_EMBEDDED_KEYS = frozenset({"/EmbeddedFiles", "/EF", "/RichMediaContent"})
_PDF_FORBIDDEN_SUBTYPES = frozenset({"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"})
_SAFE_URI_SCHEMES = (b"http://", b"https://", b"mailto:")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_CHUNKS = 100_000
# Bytes allowed after a JPEG's last EOI marker: padding some cameras and scanners write.
_JPEG_PADDING = frozenset(b"\x00\xff\t\n\r ")
_PDF_PADDING = frozenset(b"\x00\t\n\x0c\r \x1a")

DISPLAY_NAME_MAX = 120
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_EXTENSION_MAX = 10  # longer "extensions" are part of the name ("Quyết định số 12.2024 về...")


_KINDS: dict[Kind, tuple[str, str, frozenset[str]]] = {
    # kind: (content type, canonical extension, accepted extensions)
    "pdf": ("application/pdf", ".pdf", frozenset({".pdf"})),
    "jpeg": ("image/jpeg", ".jpg", frozenset({".jpg", ".jpeg"})),
    "png": ("image/png", ".png", frozenset({".png"})),
}
_KIND_NAMES = {"pdf": _("PDF document"), "jpeg": _("JPEG picture"), "png": _("PNG picture")}

MESSAGES = {
    "empty": _("This file is empty. Please check that you chose the right file and upload it again."),
    "too_large": _(
        "This file is %(size)s, more than the %(limit)s allowed. "
        "Please upload a smaller file, for example by scanning at a lower resolution."
    ),
    "quota_exceeded": _(
        "There is not enough space left for this file: your documents may take up %(limit)s in total "
        "and %(remaining)s is left. Please delete a document you no longer need, or upload a smaller file."
    ),
    "unsupported_type": _("This type of file is not accepted. Please upload a PDF document or a JPEG or PNG picture."),
    "extension_mismatch": _(
        "This file is a %(actual)s, but its name ends in “%(extension)s”. "
        "Please check that you chose the right file, or rename it to end in “%(expected)s”."
    ),
    "pdf_encrypted": _("This PDF is password-protected. Please upload an unprotected copy."),
    "pdf_javascript": _(
        "This PDF contains scripts, attached files or automatic actions, which are not allowed. "
        "Please make a plain copy (for example with Print, then “Save as PDF”) and upload that copy."
    ),
    "pdf_unparseable": _(
        "This PDF is damaged or could not be read. Please open it to check it, save it again as a PDF "
        "(for example with Print, then “Save as PDF”) and upload the new copy."
    ),
    "pdf_too_many_pages": _(
        "This PDF has %(pages)s pages; at most %(limit)s are allowed. "
        "Please remove the pages you do not need, or split the document."
    ),
    "image_too_many_pixels": _(
        "This picture is too large (%(width)s × %(height)s pixels; the limit is %(limit)s million pixels). "
        "Please reduce its size, or scan at a lower resolution, and upload it again."
    ),
    "image_unparseable": _(
        "This picture is damaged or could not be read. Please open it to check it, "
        "save it again as JPEG or PNG and upload the new copy."
    ),
    "trailing_data": _(
        "This file has extra hidden data after its end (some phones add a short video or other data to photos). "
        "Please save it again as an ordinary file, for example by taking a screenshot or using “Save as”, "
        "and upload the new copy."
    ),
    "bad_name": _(
        "The file name contains characters that are not allowed, such as slashes or invisible characters. "
        "Please rename the file and upload it again."
    ),
}
_NO_EXTENSION_MESSAGE = _(
    "This file is a %(actual)s, but its name has no extension. Please rename it to end in “%(expected)s”."
)
_PDF_IMAGE_TOO_LARGE_MESSAGE = _(
    "A picture inside this PDF is too large (%(width)s × %(height)s pixels; the limit is %(limit)s million "
    "pixels). Please save the document again at a lower resolution and upload the new copy."
)


class UploadRejected(Exception):
    """A file refused for a reason the candidate can act on.

    ``code`` is stable (for tests, logs and the form's error code). ``message`` is a lazy
    translatable string with ``%(name)s`` placeholders filled from ``params``, as Django's
    ``ValidationError(message, code=code, params=params)`` expects; ``text`` renders it.
    ``detail`` is English for logs only (never shown to the candidate).
    """

    def __init__(
        self,
        code: RejectionCode,
        params: dict[str, object] | None = None,
        *,
        detail: str = "",
        message: object = None,
    ) -> None:
        super().__init__(code, detail)
        self.code: str = code
        self.params: dict[str, object] = params or {}
        self.detail = detail
        self.message = MESSAGES[code] if message is None else message

    @property
    def text(self) -> str:
        return str(self.message) % {k: str(v) for k, v in self.params.items()} if self.params else str(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


@dataclass(frozen=True)
class InspectedFile:
    kind: Kind
    content_type: str
    extension: str  # canonical, to store the file with
    size: int
    sha256: str
    pages: int | None = None
    width: int | None = None
    height: int | None = None


def inspect_upload(
    data: bytes,
    *,
    filename: str,
    max_bytes: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> InspectedFile:
    """Accept a dossier file or raise :class:`UploadRejected`.

    Checks, in order: empty, size, type from content, extension, then the format's own
    checks (PDF: encryption, trailing data, parse, pages, scripts, embedded files and
    oversized pictures; images: pixel count before decoding, trailing data, verify,
    full decode).
    """
    data = bytes(data)
    if not data:
        raise UploadRejected("empty")
    if len(data) > max_bytes:
        raise UploadRejected(
            "too_large", {"size": _format_size(len(data), round_up=True), "limit": _format_size(max_bytes)}
        )
    kind = _sniff(data)
    if kind is None:
        raise UploadRejected("unsupported_type", detail=f"starts with {data[:8]!r}")
    content_type, canonical, accepted = _KINDS[kind]
    extension = _extension(filename)
    if extension not in accepted:
        params = {"actual": _KIND_NAMES[kind], "extension": extension, "expected": canonical}
        raise UploadRejected(
            "extension_mismatch",
            params,
            detail=f"{kind} named {extension or '(no extension)'}",
            message=None if extension else _NO_EXTENSION_MESSAGE,
        )

    pages = width = height = None
    if kind == "pdf":
        pages = _inspect_pdf(data, max_pages=max_pages, max_pixels=max_pixels)
    else:
        width, height = _inspect_image(data, kind, max_pixels=max_pixels)
    return InspectedFile(
        kind=kind,
        content_type=content_type,
        extension=canonical,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        pages=pages,
        width=width,
        height=height,
    )


def check_quota(*, existing_total: int, new_size: int, max_total: int) -> None:
    """Refuse a file that would take a candidate's stored total over ``max_total`` bytes.

    Call it inside the transaction that saves the file, with the total read under a lock
    (``select_for_update`` on the candidate), or two parallel uploads both pass.
    """
    if existing_total < 0 or new_size < 0 or max_total < 0:
        raise ValueError("sizes must not be negative")
    if existing_total + new_size > max_total:
        remaining = max(max_total - existing_total, 0)
        raise UploadRejected(
            "quota_exceeded",
            {"limit": _format_size(max_total), "remaining": _format_size(remaining)},
            detail=f"{existing_total} + {new_size} > {max_total}",
        )


def safe_display_name(filename: str, *, fallback: str = "document") -> str:
    """The user's file name made safe to show back to its owner (never to store under).

    Drops any directory part (``/`` or ``\\``), control, bidi and other invisible format
    characters; NFC-normalises; collapses whitespace; caps the length at
    ``DISPLAY_NAME_MAX`` characters keeping the extension. When nothing is left it
    returns ``fallback`` (with the extension, if one survived).
    """
    spaced = "".join(" " if ch.isspace() else ch for ch in unicodedata.normalize("NFC", filename))  # tabs too
    name = "".join(ch for ch in spaced if not _is_invisible(ch))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split()).strip(" .")
    stem, extension = _split_extension(name)
    stem = stem.strip(" .")
    if not stem:
        return fallback + extension if extension else fallback
    room = DISPLAY_NAME_MAX - len(extension)
    if len(stem) > room:
        stem = stem[:room].rstrip(" .")
        # Do not leave a combining mark (a Vietnamese tone mark) without its letter.
        while stem and unicodedata.combining(stem[-1]):
            stem = stem[:-1]
    return (stem + extension)[:DISPLAY_NAME_MAX] or fallback


def is_suspicious_name(filename: str) -> bool:
    """Whether a name carries a path, a ``..`` component, NUL, control or invisible characters.

    Browsers send bare names, so such a name was crafted or came from a broken client;
    the form may refuse it with ``UploadRejected("bad_name")``.
    """
    if "/" in filename or "\\" in filename or filename.strip() in {".", ".."}:
        return True
    return any(_is_invisible(ch) for ch in filename)


def strip_pdf_metadata(data: bytes) -> bytes:
    """Rewrite a PDF without document information (/Info), XMP /Metadata or private data.

    Removes /Info and a fresh /ID replaces the original one (it would link the copy to the
    upload); removes /Metadata and /PieceInfo from every object (catalog, pages, images,
    fonts) and the author (/T) of comments. Pages and their content are kept. Expects a
    file :func:`inspect_upload` accepted; raises ``UploadRejected("pdf_unparseable")``
    otherwise.
    """
    with apply_configuration(**_pdf_limits(len(data))):
        try:
            reader = PdfReader(io.BytesIO(data), strict=True, root_object_recovery_limit=_PDF_ROOT_RECOVERY_LIMIT)
            if reader.is_encrypted:
                raise UploadRejected("pdf_encrypted")
            # Edit the parsed objects, then clone: the writer copies only what is still
            # reachable from the catalog, so removed metadata streams are not written.
            for key in ("/Info", "/ID"):
                reader.trailer.pop(NameObject(key), None)
            for obj in _walk_pdf(reader.trailer.raw_get("/Root")):
                if not isinstance(obj, DictionaryObject):
                    continue
                for key in ("/Metadata", "/PieceInfo"):
                    obj.pop(NameObject(key), None)
                if _is_markup_annotation(obj):
                    obj.pop(NameObject("/T"), None)  # the comment's author
            writer = PdfWriter(clone_from=reader)
            writer.metadata = None
            writer.generate_file_identifiers()
            out = io.BytesIO()
            writer.write(out)
            return out.getvalue()
        except UploadRejected:
            raise
        except Exception as exc:  # any failure of the parser on hostile input
            raise UploadRejected("pdf_unparseable", detail=repr(exc)) from exc


def strip_image_metadata(data: bytes, kind: str) -> bytes:
    """Re-encode a JPEG or PNG without EXIF, XMP, ICC profile, text chunks or comments.

    Pixels are kept: PNG losslessly; JPEG with the original quantisation tables and
    subsampling, so the re-encoding loss is minimal. An EXIF orientation is applied to
    the pixels first, so the picture still shows the right way up once the tag is gone.
    Only the first frame of a multi-picture JPEG is kept.
    """
    if kind not in ("jpeg", "png"):
        raise ValueError(f"not an image kind: {kind!r}")
    try:
        with _pillow_bomb_errors(), Image.open(io.BytesIO(data), formats=[kind.upper()]) as source:
            source.load()
            clean = ImageOps.exif_transpose(source)  # a new image, upright
            transparency = clean.info.get("transparency")  # part of the pixels, not metadata
            clean.info = {} if transparency is None else {"transparency": transparency}
            out = io.BytesIO()
            if kind == "png":
                clean.save(out, format="PNG", optimize=False)
            else:
                options: dict[str, object] = {"quality": 95}
                if isinstance(source, JpegImagePlugin.JpegImageFile) and source.quantization:
                    options = {"qtables": source.quantization}
                    subsampling = JpegImagePlugin.get_sampling(source)
                    if subsampling != -1:
                        options["subsampling"] = subsampling
                clean.save(out, format="JPEG", **options)
            return out.getvalue()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        limit = Image.MAX_IMAGE_PIXELS or 0
        raise UploadRejected("image_too_many_pixels", _pixel_params(*_header_size(data), limit)) from exc
    except Exception as exc:  # any failure of the decoder on hostile input
        raise UploadRejected("image_unparseable", detail=repr(exc)) from exc


# --- Type and name --------------------------------------------------------------


def _sniff(data: bytes) -> Kind | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def _extension(filename: str) -> str:
    # The extension of the name the candidate is shown, so an invisible character
    # cannot hide in it (and the message quoting it cannot be spoofed with bidi controls).
    return _split_extension(safe_display_name(filename, fallback=""))[1].lower()


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or not extension or len(extension) > _EXTENSION_MAX or " " in extension:
        return name, ""
    return stem, "." + extension


def _is_invisible(ch: str) -> bool:
    # Cc: controls incl. NUL; Cf: format (bidi, zero-width, BOM); Cs: lone surrogates
    # (from undecodable bytes); Co: private use.
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"}


def _format_size(size: int, *, round_up: bool = False) -> str:
    # A file's size is rounded up and a limit down, so "10.1 MB, more than 10 MB" never
    # reads "10 MB, more than 10 MB".
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            tenths = -(-size * 10 // scale) if round_up else size * 10 // scale
            return f"{tenths / 10:.1f}".removesuffix(".0") + " " + unit
    return f"{size} B"


def _pixel_params(width: int, height: int, limit: int) -> dict[str, object]:
    return {"width": width, "height": height, "limit": f"{limit / 1_000_000:g}"}


# --- PDF ------------------------------------------------------------------------


def _pdf_limits(size: int) -> dict[str, object]:
    """pypdf Configuration overrides for one untrusted file of ``size`` bytes."""
    stream = _PDF_STREAM_MAX_OUTPUT
    return {
        # Never run the external jbig2dec on an upload (pypdf would, for JBIG2 streams).
        "jbig2dec_binary": None,
        # A stream cannot be longer than the file that holds it.
        "maximum_declared_stream_length": size,
        "array_based_stream_maximum_output_length": stream,
        "jbig2_maximum_output_length": stream,
        "lzw_maximum_output_length": stream,
        "run_length_maximum_output_length": stream,
        "zlib_maximum_output_length": stream,
        "zlib_maximum_recovery_input_length": 1024 * 1024,
        "brotli_maximum_output_length": stream,
        "image_maximum_buffer_size": stream,
        "stream_decoding_work_maximum_length": 2 * stream,
        "xmp_maximum_input_length": 1024 * 1024,
        "xfa_decoding_work_maximum_length": stream,
    }


def _inspect_pdf(data: bytes, *, max_pages: int, max_pixels: int) -> int:
    end = data.rfind(b"%%EOF")
    if end < 0:
        raise UploadRejected("pdf_unparseable", detail="no %%EOF marker (truncated?)")
    if not set(data[end + 5 :]) <= _PDF_PADDING:
        raise UploadRejected("trailing_data", detail=f"{len(data) - end - 5} bytes after %%EOF")

    with apply_configuration(**_pdf_limits(len(data))), _pypdf_warnings() as repairs:
        try:
            reader = PdfReader(io.BytesIO(data), strict=True, root_object_recovery_limit=_PDF_ROOT_RECOVERY_LIMIT)
            if reader.is_encrypted:
                raise UploadRejected("pdf_encrypted")
            _refuse_repairs(repairs)
            declared = _resolve(_resolve(reader.trailer, "/Root"), "/Pages")
            declared_count = _resolve(declared, "/Count")
            if isinstance(declared_count, int) and declared_count > max_pages:
                raise UploadRejected("pdf_too_many_pages", {"pages": declared_count, "limit": max_pages})
            pages = len(reader.pages)
            if pages > max_pages:
                raise UploadRejected("pdf_too_many_pages", {"pages": pages, "limit": max_pages})
            if pages == 0:
                raise UploadRejected("pdf_unparseable", detail="no pages")
            _check_pdf_objects(reader.trailer.raw_get("/Root"), max_pixels=max_pixels)
            _refuse_repairs(repairs)
        except UploadRejected:
            raise
        except Exception as exc:  # pypdf errors, RecursionError, LimitReachedError, zlib...
            if b"/Encrypt" in data:
                # Encryption pypdf cannot set up (unknown handler) still means encrypted.
                raise UploadRejected("pdf_encrypted", detail=repr(exc)) from exc
            raise UploadRejected("pdf_unparseable", detail=repr(exc)) from exc
    return pages


class _ThreadWarnings(logging.Handler):
    """Collects the warnings pypdf logs in this thread (each one is damage it repaired)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def _pypdf_warnings() -> Iterator[list[str]]:
    # Even with strict=True, pypdf only logs some damage and reads on: a /Prev loop in
    # the xref chain (CVE-2026-27628), a malformed /ID... For an upload that is a refusal.
    handler = _ThreadWarnings()
    logger = logging.getLogger("pypdf")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _refuse_repairs(repairs: list[str]) -> None:
    if repairs:
        raise UploadRejected("pdf_unparseable", detail=f"pypdf repaired: {repairs[0]}")


def _check_pdf_objects(root: PdfObject, *, max_pixels: int) -> None:
    """Refuse active content anywhere reachable from the catalog; decode streams with a budget."""
    decoded = 0
    for obj in _walk_pdf(root):
        if not isinstance(obj, DictionaryObject):
            continue
        reason = _active_content(obj)
        if reason:
            raise UploadRejected("pdf_javascript", detail=reason)
        if not isinstance(obj, StreamObject):
            continue
        if _resolve(obj, "/Subtype") == "/Image":
            width, height = _resolve(obj, "/Width"), _resolve(obj, "/Height")
            if not isinstance(width, int) or not isinstance(height, int) or width < 0 or height < 0:
                raise UploadRejected("pdf_unparseable", detail="image without valid /Width and /Height")
            if width * height > max_pixels:
                raise UploadRejected(
                    "image_too_many_pixels",
                    _pixel_params(width, height, max_pixels),
                    detail="image inside a PDF",
                    message=_PDF_IMAGE_TOO_LARGE_MESSAGE,
                )
        elif "/Filter" in obj:
            # Content streams, fonts, forms: decode without caching (pypdf would keep every
            # decoded copy alive) so a Flate/LZW bomb is refused here, not in a viewer.
            decoded += len(decode_stream_data(obj))
            if decoded > _PDF_TOTAL_DECODED_MAX:
                raise UploadRejected("pdf_unparseable", detail="decoded streams exceed the total budget")


def _active_content(obj: DictionaryObject) -> str:
    keys = set(obj.keys())
    if found := keys & _PDF_SCRIPT_KEYS:
        return f"script key {sorted(found)}"
    if found := keys & _PDF_EMBEDDED_KEYS:
        return f"embedded file {sorted(found)}"
    action = _resolve(obj, "/S")
    if action in _PDF_FORBIDDEN_ACTIONS:
        return f"action {action}"
    if _resolve(obj, "/Type") == "/EmbeddedFile":
        return "embedded file stream"
    if _resolve(obj, "/Subtype") in _PDF_FORBIDDEN_SUBTYPES and "/Rect" in obj:
        return f"annotation {_resolve(obj, '/Subtype')}"
    if action == "/URI":
        uri = _resolve(obj, "/URI")
        if isinstance(uri, str):
            raw = uri.encode("utf-8", "replace")
        elif isinstance(uri, bytes):
            raw = uri
        else:
            return "link without a text target"
        if not raw.strip().lower().startswith(_SAFE_URI_SCHEMES):
            return f"link to {raw[:40]!r}"
    return ""


_PDF_CONTAINERS = (IndirectObject, DictionaryObject, ArrayObject)


def _is_markup_annotation(obj: DictionaryObject) -> bool:
    # Widgets' /T is a form field's name, not an author.
    annotation = _resolve(obj, "/Type") == "/Annot" or ("/Rect" in obj and "/Subtype" in obj)
    return annotation and _resolve(obj, "/Subtype") not in {"/Widget", "/Link"}


def _walk_pdf(root: PdfObject) -> Iterator[PdfObject]:
    """Every object reachable from ``root``, each indirect object once, without recursion."""
    stack: list[PdfObject] = [root]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack:
        obj = stack.pop()
        visited += 1
        if visited > _PDF_MAX_OBJECTS:
            raise UploadRejected("pdf_unparseable", detail="too many objects")
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
            if obj is None:
                continue
        yield obj
        # dict.values/list iteration give the raw entries, so references stay unresolved
        # until popped and each is resolved (and counted) once. Numbers, names and strings
        # cannot lead anywhere and are skipped.
        if isinstance(obj, DictionaryObject):
            stack.extend(v for v in dict.values(obj) if isinstance(v, _PDF_CONTAINERS))
        elif isinstance(obj, ArrayObject):
            stack.extend(v for v in list.__iter__(obj) if isinstance(v, _PDF_CONTAINERS))


def _resolve(obj: object, key: str) -> object:
    if not isinstance(obj, dict):
        return None
    value = dict.get(obj, key)
    return value.get_object() if isinstance(value, PdfObject) else value


# --- Images ---------------------------------------------------------------------


@contextmanager
def _pillow_bomb_errors() -> Iterator[None]:
    """Turn Pillow's DecompressionBombWarning (pixels above MAX_IMAGE_PIXELS) into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _inspect_image(data: bytes, kind: Kind, *, max_pixels: int) -> tuple[int, int]:
    fmt = kind.upper()
    try:
        with _pillow_bomb_errors():
            # Header only: Image.open reads the size without decoding pixels.
            with Image.open(io.BytesIO(data), formats=[fmt]) as header:
                width, height = header.size
                frames = getattr(header, "n_frames", 1)
                mp_entries = getattr(header, "mpinfo", None) or {}
                if width * height > max_pixels:
                    raise UploadRejected("image_too_many_pixels", _pixel_params(width, height, max_pixels))
                if kind == "png" and frames > 1:
                    raise UploadRejected("unsupported_type", detail="animated PNG")
            if kind == "png":
                _check_png_structure(data)
            else:
                _check_jpeg_structure(data, mp_entries.get(0xB002) or [])
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                image.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                image.load()
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
        raise UploadRejected("image_too_many_pixels", _pixel_params(*_header_size(data), limit)) from exc
    except Exception as exc:  # UnidentifiedImageError, OSError, SyntaxError... on hostile input
        raise UploadRejected("image_unparseable", detail=repr(exc)) from exc
    return width, height


def _check_png_structure(data: bytes) -> None:
    """Walk the chunks to IEND; anything after it is refused (PNG+HTML, PNG+ZIP polyglots)."""
    position = len(_PNG_SIGNATURE)
    for _index in range(_PNG_MAX_CHUNKS):
        if position + 12 > len(data):
            raise UploadRejected("image_unparseable", detail="PNG ends before IEND")
        length = int.from_bytes(data[position : position + 4], "big")
        chunk_type = data[position + 4 : position + 8]
        position += 12 + length
        if position > len(data):
            raise UploadRejected("image_unparseable", detail=f"PNG chunk {chunk_type!r} runs past the end")
        if chunk_type == b"IEND":
            if position != len(data):
                raise UploadRejected("trailing_data", detail=f"{len(data) - position} bytes after IEND")
            return
    raise UploadRejected("image_unparseable", detail="too many PNG chunks")


def _check_jpeg_structure(data: bytes, mp_entries: list[dict[str, object]]) -> None:
    """Find where the JPEG really ends (and its extra MPF pictures); refuse data after that.

    Phones store extra pictures (depth or HDR gain maps) declared by an MPF APP2 segment;
    those are allowed. Anything else after the last EOI except padding is refused.
    """
    end, mpf_base = _jpeg_end(data, 0)
    covered = [(0, end)]
    for entry in mp_entries[1:]:
        offset = entry.get("DataOffset")
        if not isinstance(offset, int) or mpf_base is None or offset <= 0:
            raise UploadRejected("image_unparseable", detail="bad MPF entry")
        start = mpf_base + offset
        covered.append((start, _jpeg_end(data, start)[0]))
    covered.sort()
    position = 0
    for start, stop in covered:
        if start < position or not set(data[position:start]) <= _JPEG_PADDING:
            raise UploadRejected("trailing_data", detail=f"unexplained data at {position}..{start}")
        position = stop
    if not set(data[position:]) <= _JPEG_PADDING:
        raise UploadRejected("trailing_data", detail=f"{len(data) - position} bytes after the last EOI")


def _jpeg_end(data: bytes, start: int) -> tuple[int, int | None]:
    """The offset just past the EOI of the JPEG at ``start``, and where its MPF header is.

    Walks marker segments by their lengths (an EXIF thumbnail's own EOI is inside APP1),
    and the entropy-coded data after each SOS up to the next real marker.
    """
    n = len(data)
    if data[start : start + 2] != b"\xff\xd8":
        raise UploadRejected("image_unparseable", detail=f"no JPEG SOI at {start}")
    position = start + 2
    mpf_base = None
    while True:
        if position >= n or data[position] != 0xFF:
            raise UploadRejected("image_unparseable", detail=f"JPEG marker expected at {position}")
        while position < n and data[position] == 0xFF:  # fill bytes
            position += 1
        if position >= n:
            raise UploadRejected("image_unparseable", detail="JPEG ends inside a marker")
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            return position, mpf_base
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if position + 2 > n:
            raise UploadRejected("image_unparseable", detail="JPEG ends inside a segment")
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > n:
            raise UploadRejected("image_unparseable", detail=f"bad JPEG segment length at {position}")
        if marker == 0xE2 and data[position + 2 : position + 6] == b"MPF\x00":
            mpf_base = position + 6
        position += length
        if marker == 0xDA:  # SOS: entropy-coded data until a marker other than FF00 / RSTn
            while True:
                found = data.find(b"\xff", position)
                if found < 0 or found + 1 >= n:
                    raise UploadRejected("image_unparseable", detail="JPEG has no EOI (truncated?)")
                following = data[found + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position = found + 2
                elif following == 0xFF:
                    position = found + 1
                else:
                    position = found
                    break


def _header_size(data: bytes) -> tuple[int, int]:
    """Width and height read from the header bytes, for the message when Pillow refused to open."""
    if data.startswith(_PNG_SIGNATURE):
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    position = 2
    while position + 9 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            segment = data[position + 4 : position + 9]
            return int.from_bytes(segment[3:5], "big"), int.from_bytes(segment[1:3], "big")
        position += 2 + length
    return 0, 0
