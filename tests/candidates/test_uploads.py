"""T12 bad-upload corpus for candidates.uploads (no database).

The corpus is built in one session fixture: real PDFs from ReportLab, made hostile with
pypdf; hand-assembled PDFs where pypdf would refuse to write the flaw; images from
Pillow; raw bytes for broken files. Every refusal must come back with its own code in
under 5 s.
"""

import ast
import io
import struct
import time
import tracemalloc
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import fontpkg
import pytest
from django.utils.functional import Promise
from PIL import Image, ImageCms, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NumberObject
from pypdf.generic import TextStringObject as Text
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

import candidates.uploads
from candidates.uploads import (
    InspectedFile,
    UploadRejected,
    check_quota,
    inspect_upload,
    is_suspicious_name,
    safe_display_name,
    strip_image_metadata,
    strip_pdf_metadata,
)

MB = 1024 * 1024
MAX_BYTES = 10 * MB
SECONDS = 5.0
AUTHOR = "Nguyễn Thị Hằng"
TITLE = "Hồ sơ dự tuyển Phó Giám đốc Sở"
BODY = "Sơ yếu lý lịch: Trần Văn Đức, Thành phố Hồ Chí Minh"


@dataclass(frozen=True)
class Sample:
    data: bytes
    filename: str


# --- Builders ------------------------------------------------------------------


def reportlab_pdf(pages: int = 1, *, author: str = "", title: str = "") -> bytes:
    if "BeVietnamPro" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("BeVietnamPro", str(fontpkg.path("Be Vietnam Pro"))))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    if author:
        pdf.setAuthor(author)
    if title:
        pdf.setTitle(title)
    for number in range(1, pages + 1):
        pdf.setFont("BeVietnamPro", 12)
        pdf.drawString(72, 770, f"{BODY} ({number})")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def rewritten(pdf: bytes, change) -> bytes:
    """The PDF rewritten by pypdf after ``change(writer)``."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def js_action(code: str = "app.alert('hi')") -> DictionaryObject:
    return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): Text(code)})


def add_link(writer: PdfWriter, action: dict) -> None:
    """A link annotation on page 1 that runs ``action`` when clicked."""
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (0, 0, 99, 99)]),
            NameObject("/A"): DictionaryObject({NameObject(k): v for k, v in action.items()}),
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])


def assemble_pdf(objects: list[bytes], *, trailer: bytes = b"/Root 1 0 R") -> bytes:
    """A PDF with a correct xref table from raw object bodies (object n is objects[n-1])."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


PAGE_OBJECTS = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
]


def stream(body: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(body), extra, body)


def circular_prev_pdf() -> bytes:
    """Two xref sections whose trailers point at each other through /Prev (CVE-2026-27628)."""
    head = assemble_pdf([*PAGE_OBJECTS, stream(b"BT ET")])
    body = head[: head.index(b"xref\n")]
    table = head[head.index(b"xref\n") : head.index(b"trailer")]
    first = len(body)
    second = first + len(table) + len(b"trailer\n<< /Size 5 /Root 1 0 R /Prev 0000000000 >>\n")
    out = body
    out += table + b"trailer\n<< /Size 5 /Root 1 0 R /Prev %010d >>\n" % second
    out += table + b"trailer\n<< /Size 5 /Root 1 0 R /Prev %010d >>\n" % first
    return out + b"startxref\n%d\n%%%%EOF\n" % first


def flate_bomb_pdf(megabytes: int = 200) -> bytes:
    """A page whose content stream inflates to ``megabytes`` MB of zeros (CVE-2025-55197)."""
    compressor = zlib.compressobj(9)
    zeros = bytes(MB)
    packed = b"".join(compressor.compress(zeros) for _ in range(megabytes)) + compressor.flush()
    return assemble_pdf([*PAGE_OBJECTS, stream(packed, b"/Filter /FlateDecode")])


def lzw_bomb_pdf(blocks: int = 1300) -> bytes:
    """A content stream of LZW codes that inflates ~112 times, to ~41 MB of zeros (CVE-2025-62708).

    Each block is CLEAR, 0, then codes 258..507: code 258+i stands for i+2 zeros. The
    table never reaches 511 entries, so every code stays 9 bits wide.
    """
    codes = []
    for _ in range(blocks):
        codes += [256, 0, *range(258, 508)]
    codes.append(257)  # end of data
    bits = "".join(format(code, "09b") for code in codes)
    bits += "0" * (-len(bits) % 8)
    packed = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return assemble_pdf([*PAGE_OBJECTS, stream(packed, b"/Filter /LZWDecode")])


def huge_image_pdf() -> bytes:
    """A page drawing an image XObject that declares 50,000 × 50,000 pixels."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources 5 0 R >>"
    image = stream(
        zlib.compress(b"\0" * 64),
        b"/Type /XObject /Subtype /Image /Width 50000 /Height 50000 /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /FlateDecode",
    )
    objects = [*PAGE_OBJECTS[:2], page, stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q"), b"<< /XObject << /Im1 6 0 R >> >>"]
    return assemble_pdf([*objects, image])


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG that declares width × height pixels but carries a tiny IDAT: never decode it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def picture(size: tuple[int, int] = (64, 48)) -> Image.Image:
    image = Image.new("RGB", size)
    image.putdata([(x * 4 % 256, y * 5 % 256, (x + y) % 256) for y in range(size[1]) for x in range(size[0])])
    return image


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def xmp(author: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>{author}</dc:creator>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def exif_with_author(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x013B] = AUTHOR  # Artist
    exif[0x010F] = "Samsung"  # Make
    if orientation:
        exif[0x0112] = orientation
    return exif


def jpeg_with_metadata(size: tuple[int, int] = (64, 48), orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    picture(size).save(
        out,
        "JPEG",
        quality=90,
        exif=exif_with_author(orientation),
        icc_profile=srgb_profile(),
        comment=f"Chụp bởi {AUTHOR}".encode(),
        xmp=xmp(AUTHOR),
    )
    return out.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    out = io.BytesIO()
    picture().save(out, "JPEG", comment=comment)
    return out.getvalue()


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("Author", AUTHOR)
    info.add_text("Comment", "scanned at home")
    out = io.BytesIO()
    picture().save(out, "PNG", pnginfo=info, exif=exif_with_author(), icc_profile=srgb_profile())
    return out.getvalue()


def mpo_with_second_picture() -> bytes:
    out = io.BytesIO()
    picture().save(out, "MPO", save_all=True, append_images=[picture((32, 24))])
    return out.getvalue()


def zip_archive(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def with_xmp(pdf: bytes) -> bytes:
    def add(writer: PdfWriter) -> None:
        for holder in (writer.root_object, writer.pages[0]):
            metadata = DecodedStreamObject()
            metadata.set_data(xmp(AUTHOR))
            metadata[NameObject("/Type")] = NameObject("/Metadata")
            metadata[NameObject("/Subtype")] = NameObject("/XML")
            holder[NameObject("/Metadata")] = writer._add_object(metadata)

    return rewritten(pdf, add)


@pytest.fixture(scope="session")
def corpus() -> dict[str, Sample]:
    pdf = reportlab_pdf()
    jpeg = jpeg_with_metadata()
    png = png_with_metadata()

    def document_js(writer: PdfWriter) -> None:
        # Catalog /Names /JavaScript name tree (pypdf 7 removed add_js).
        scripts = DictionaryObject({NameObject("/Names"): ArrayObject([Text("init"), writer._add_object(js_action())])})
        writer.root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): scripts})

    def open_action_js(writer: PdfWriter) -> None:
        writer.root_object[NameObject("/OpenAction")] = js_action()

    def page_aa(writer: PdfWriter) -> None:
        writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): js_action()})

    def launch_link(writer: PdfWriter) -> None:
        add_link(writer, {"/S": NameObject("/Launch"), "/F": Text("cmd.exe")})

    def unc_link(writer: PdfWriter) -> None:
        add_link(writer, {"/S": NameObject("/URI"), "/URI": Text("\\\\attacker.example\\share\\x.pdf")})

    def web_link_and_goto(writer: PdfWriter) -> None:
        add_link(writer, {"/S": NameObject("/URI"), "/URI": Text("https://moha.gov.vn")})
        fit = ArrayObject([writer.pages[0].indirect_reference, NameObject("/Fit")])
        writer.root_object[NameObject("/OpenAction")] = fit

    def encrypt(user: str):
        return lambda writer: writer.encrypt(user_password=user, owner_password="chu-tich-hoi-dong")

    escaped_js = b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /#4Aava#53cript /J#53 (app.alert(1)) >> >>"
    return {
        "vietnamese_pdf": Sample(pdf, "Sơ yếu lý lịch.pdf"),
        "jpeg": Sample(jpeg, "anh-the.jpg"),
        "jpeg_upper_case": Sample(jpeg, "BANG-DAI-HOC.JPEG"),
        "png": Sample(png, "giay-kham-suc-khoe.png"),
        "mpo": Sample(mpo_with_second_picture(), "chup-bang-dien-thoai.jpg"),
        "jpeg_eoi_in_comment": Sample(jpeg_with_comment(b"looks like an end \xff\xd9 but is not"), "a.jpg"),
        "pdf_web_link": Sample(rewritten(pdf, web_link_and_goto), "cv.pdf"),
        "png_named_pdf": Sample(png, "bang-tot-nghiep.pdf"),
        "pdf_named_png": Sample(pdf, "bang-tot-nghiep.png"),
        "pdf_no_extension": Sample(pdf, "bang-tot-nghiep"),
        "docx": Sample(
            zip_archive({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}), "cv.docx"
        ),
        "docx_named_pdf": Sample(zip_archive({"word/document.xml": b"<w:document/>"}), "cv.pdf"),
        "text_named_pdf": Sample("Đây không phải là PDF\n".encode(), "ho-so.pdf"),
        "html": Sample(b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>", "cv.html"),
        "png_html_polyglot": Sample(png + b"<html><script>alert(document.cookie)</script></html>", "anh.png"),
        "jpeg_zip_polyglot": Sample(jpeg + zip_archive({"payload.html": b"<script>alert(1)</script>"}), "anh.jpg"),
        "jpeg_zip_behind_fake_eoi": Sample(
            jpeg_with_comment(b"\xff\xd9") + zip_archive({"x.txt": b"hidden"}), "anh.jpg"
        ),
        "pdf_document_js": Sample(rewritten(pdf, document_js), "cv.pdf"),
        "pdf_open_action_js": Sample(rewritten(pdf, open_action_js), "cv.pdf"),
        "pdf_page_aa": Sample(rewritten(pdf, page_aa), "cv.pdf"),
        "pdf_launch": Sample(rewritten(pdf, launch_link), "cv.pdf"),
        "pdf_unc_link": Sample(rewritten(pdf, unc_link), "cv.pdf"),
        "pdf_embedded_file": Sample(
            rewritten(pdf, lambda writer: writer.add_attachment("setup.exe", b"MZ\x90\x00")), "cv.pdf"
        ),
        "pdf_escaped_js_names": Sample(assemble_pdf([escaped_js, *PAGE_OBJECTS[1:], stream(b"BT ET")]), "cv.pdf"),
        "pdf_encrypted": Sample(rewritten(pdf, encrypt("mat-khau")), "cv.pdf"),
        "pdf_encrypted_empty_password": Sample(rewritten(pdf, encrypt("")), "cv.pdf"),
        "pdf_truncated": Sample(pdf[: len(pdf) * 2 // 3], "cv.pdf"),
        "pdf_middle_cut_out": Sample(pdf[: len(pdf) // 3] + pdf[len(pdf) // 2 :], "cv.pdf"),
        "pdf_circular_prev": Sample(circular_prev_pdf(), "cv.pdf"),
        "pdf_flate_bomb": Sample(flate_bomb_pdf(), "cv.pdf"),
        "pdf_lzw_bomb": Sample(lzw_bomb_pdf(), "cv.pdf"),
        "pdf_huge_image": Sample(huge_image_pdf(), "ban-scan.pdf"),
        "mpo_zip_polyglot": Sample(mpo_with_second_picture() + zip_archive({"x.html": b"<script>1</script>"}), "a.jpg"),
        "png_7000_square": Sample(huge_png_header(7000, 7000), "anh.png"),
        "pdf_html_after_eof": Sample(pdf + b"<html><script>alert(1)</script></html>", "cv.pdf"),
        "pdf_four_pages": Sample(reportlab_pdf(pages=4), "chuong-trinh-hanh-dong.pdf"),
        "pdf_with_metadata": Sample(with_xmp(reportlab_pdf(author=AUTHOR, title=TITLE)), "bai-thi.pdf"),
        "empty": Sample(b"", "cv.pdf"),
        "oversize": Sample(b"%PDF-1.7\n" + bytes(MB), "cv.pdf"),
        "png_50000_square": Sample(huge_png_header(), "anh.png"),
        "png_truncated": Sample(png[:-30], "anh.png"),
        "jpeg_truncated": Sample(jpeg[: len(jpeg) // 2], "anh.jpg"),
    }


def refused(sample: Sample, **limits: int) -> UploadRejected:
    """The refusal of ``sample``, asserting it came within SECONDS."""
    started = time.monotonic()
    with pytest.raises(UploadRejected) as caught:
        inspect_upload(sample.data, filename=sample.filename, **{"max_bytes": MAX_BYTES, **limits})
    assert time.monotonic() - started < SECONDS
    rejection = caught.value
    assert "%(" not in rejection.text  # every placeholder filled
    return rejection


def accepted(sample: Sample, **limits: int) -> InspectedFile:
    return inspect_upload(sample.data, filename=sample.filename, **{"max_bytes": MAX_BYTES, **limits})


# --- Accepted ------------------------------------------------------------------


def test_one_page_vietnamese_pdf_is_accepted(corpus) -> None:
    sample = corpus["vietnamese_pdf"]
    inspected = accepted(sample)
    assert (inspected.kind, inspected.content_type, inspected.extension) == ("pdf", "application/pdf", ".pdf")
    assert inspected.pages == 1 and inspected.width is None
    assert inspected.size == len(sample.data) and len(inspected.sha256) == 64


def test_jpeg_is_accepted_with_its_dimensions(corpus) -> None:
    inspected = accepted(corpus["jpeg"])
    assert (inspected.kind, inspected.content_type, inspected.extension) == ("jpeg", "image/jpeg", ".jpg")
    assert (inspected.width, inspected.height, inspected.pages) == (64, 48, None)


def test_png_is_accepted(corpus) -> None:
    inspected = accepted(corpus["png"])
    assert (inspected.kind, inspected.content_type, inspected.extension) == ("png", "image/png", ".png")


def test_upper_case_jpeg_extension_is_accepted_and_stored_as_jpg(corpus) -> None:
    assert accepted(corpus["jpeg_upper_case"]).extension == ".jpg"


def test_phone_jpeg_with_a_second_mpf_picture_is_accepted(corpus) -> None:
    assert accepted(corpus["mpo"]).kind == "jpeg"


def test_jpeg_whose_comment_contains_an_eoi_marker_is_accepted(corpus) -> None:
    assert accepted(corpus["jpeg_eoi_in_comment"]).kind == "jpeg"


def test_pdf_with_a_web_link_and_a_goto_open_action_is_accepted(corpus) -> None:
    assert accepted(corpus["pdf_web_link"]).pages == 1


def test_pdf_exactly_at_max_pages_is_accepted(corpus) -> None:
    assert accepted(corpus["pdf_four_pages"], max_pages=4).pages == 4


# --- Refused: size and type ----------------------------------------------------


def test_empty_file_is_refused(corpus) -> None:
    assert refused(corpus["empty"]).code == "empty"


def test_oversize_file_is_refused_with_the_limit_in_the_message(corpus) -> None:
    rejection = refused(corpus["oversize"], max_bytes=MB)
    assert rejection.code == "too_large"
    assert "1.1 MB, more than the 1 MB" in rejection.text


def test_png_named_pdf_is_refused_as_extension_mismatch(corpus) -> None:
    rejection = refused(corpus["png_named_pdf"])
    assert rejection.code == "extension_mismatch"
    assert "PNG picture" in rejection.text and ".png" in rejection.text


def test_pdf_named_png_is_refused_as_extension_mismatch(corpus) -> None:
    assert refused(corpus["pdf_named_png"]).code == "extension_mismatch"


def test_invisible_characters_cannot_hide_in_the_extension(corpus) -> None:
    spoofed = Sample(corpus["png"].data, "anh.\u202efdp")
    rejection = refused(spoofed)
    assert rejection.code == "extension_mismatch"
    assert rejection.params["extension"] == ".fdp"


def test_pdf_without_an_extension_is_refused_as_extension_mismatch(corpus) -> None:
    rejection = refused(corpus["pdf_no_extension"])
    assert rejection.code == "extension_mismatch"
    assert "no extension" in rejection.text


@pytest.mark.parametrize("name", ["docx", "docx_named_pdf", "text_named_pdf", "html"])
def test_docx_text_and_html_files_are_refused_as_unsupported_type(corpus, name) -> None:
    assert refused(corpus[name]).code == "unsupported_type"


# --- Refused: polyglots --------------------------------------------------------


def test_png_with_html_after_iend_is_refused_as_trailing_data(corpus) -> None:
    assert refused(corpus["png_html_polyglot"]).code == "trailing_data"


def test_jpeg_with_a_zip_appended_is_refused_as_trailing_data(corpus) -> None:
    assert refused(corpus["jpeg_zip_polyglot"]).code == "trailing_data"


def test_jpeg_zip_polyglot_hiding_behind_an_eoi_in_a_comment_is_refused(corpus) -> None:
    assert refused(corpus["jpeg_zip_behind_fake_eoi"]).code == "trailing_data"


def test_phone_jpeg_with_a_zip_after_its_mpf_pictures_is_refused(corpus) -> None:
    assert refused(corpus["mpo_zip_polyglot"]).code == "trailing_data"


def test_pdf_with_html_after_eof_is_refused_as_trailing_data(corpus) -> None:
    assert refused(corpus["pdf_html_after_eof"]).code == "trailing_data"


# --- Refused: active PDF content -----------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "pdf_document_js",
        "pdf_open_action_js",
        "pdf_page_aa",
        "pdf_launch",
        "pdf_embedded_file",
        "pdf_escaped_js_names",
        "pdf_unc_link",
    ],
)
def test_pdf_with_scripts_launch_actions_or_embedded_files_is_refused(corpus, name) -> None:
    assert refused(corpus[name]).code == "pdf_javascript"


def test_pdf_with_document_level_javascript_is_refused(corpus) -> None:
    assert "/JavaScript" in refused(corpus["pdf_document_js"]).detail


def test_pdf_with_a_launch_action_is_refused_naming_it_for_the_log(corpus) -> None:
    assert "/Launch" in refused(corpus["pdf_launch"]).detail


def test_pdf_with_an_embedded_file_is_refused_naming_it_for_the_log(corpus) -> None:
    assert "embedded" in refused(corpus["pdf_embedded_file"]).detail


# --- Refused: encrypted, broken, hostile PDFs ----------------------------------


def test_encrypted_pdf_is_refused(corpus) -> None:
    assert refused(corpus["pdf_encrypted"]).code == "pdf_encrypted"


def test_pdf_encrypted_with_an_empty_user_password_is_still_refused(corpus) -> None:
    assert refused(corpus["pdf_encrypted_empty_password"]).code == "pdf_encrypted"


@pytest.mark.parametrize("name", ["pdf_truncated", "pdf_middle_cut_out"])
def test_truncated_pdf_is_refused_as_unparseable(corpus, name) -> None:
    assert refused(corpus[name]).code == "pdf_unparseable"


def test_pdf_with_circular_prev_xref_is_refused_quickly(corpus) -> None:
    assert refused(corpus["pdf_circular_prev"]).code == "pdf_unparseable"


def test_flate_bomb_pdf_is_refused_within_bounded_time_and_memory(corpus) -> None:
    tracemalloc.start()
    try:
        rejection = refused(corpus["pdf_flate_bomb"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rejection.code == "pdf_unparseable"
    assert peak < 100 * MB  # the stream inflates to 200 MB; pypdf stops at 32 MB


def test_lzw_bomb_pdf_is_refused_within_bounded_time(corpus) -> None:
    rejection = refused(corpus["pdf_lzw_bomb"])
    assert rejection.code == "pdf_unparseable"
    assert "Limit" in rejection.detail


def test_pdf_drawing_a_50000_by_50000_image_is_refused_for_its_pixels(corpus) -> None:
    rejection = refused(corpus["pdf_huge_image"])
    assert rejection.code == "image_too_many_pixels"
    assert "inside this PDF" in rejection.text


def test_pdf_over_max_pages_is_refused_with_both_numbers(corpus) -> None:
    rejection = refused(corpus["pdf_four_pages"], max_pages=3)
    assert rejection.code == "pdf_too_many_pages"
    assert rejection.params == {"pages": 4, "limit": 3}


# --- Refused: images -----------------------------------------------------------


def test_png_header_of_50000_by_50000_is_refused_without_decoding(corpus) -> None:
    tracemalloc.start()
    try:
        rejection = refused(corpus["png_50000_square"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rejection.code == "image_too_many_pixels"
    assert "50000 × 50000" in rejection.text
    assert peak < 10 * MB


def test_image_over_the_callers_pixel_limit_is_refused(corpus) -> None:
    rejection = refused(corpus["jpeg"], max_pixels=1000)
    assert rejection.code == "image_too_many_pixels"
    assert rejection.params["width"] == 64


def test_pillow_limit_caps_a_larger_max_pixels(corpus) -> None:
    # 49 million pixels: over Image.MAX_IMAGE_PIXELS, which the module set to 40 million.
    rejection = refused(corpus["png_7000_square"], max_pixels=100_000_000)
    assert rejection.code == "image_too_many_pixels"
    assert rejection.params == {"width": 7000, "height": 7000, "limit": "40"}


@pytest.mark.parametrize("name", ["png_truncated", "jpeg_truncated"])
def test_truncated_images_are_refused_as_unparseable(corpus, name) -> None:
    assert refused(corpus[name]).code == "image_unparseable"


# --- Quota ---------------------------------------------------------------------


def test_quota_overflow_is_refused_with_the_space_left() -> None:
    with pytest.raises(UploadRejected) as caught:
        check_quota(existing_total=45 * MB, new_size=6 * MB, max_total=50 * MB)
    assert caught.value.code == "quota_exceeded"
    assert "50 MB" in caught.value.text and "5 MB" in caught.value.text


def test_quota_allows_a_file_that_fills_it_exactly() -> None:
    check_quota(existing_total=45 * MB, new_size=5 * MB, max_total=50 * MB)


# --- Names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\cv.pdf", "cv.pdf"),
        ("invoice\u202egpj.pdf", "invoicegpj.pdf"),
        ("cv\x00.pdf\n", "cv.pdf"),
        ("  Bằng   tốt\tnghiệp .pdf", "Bằng tốt nghiệp.pdf"),
        ("\u2067Biên bản\u2069 họp\u200b.pdf", "Biên bản họp.pdf"),
        ("..", "document"),
        ("", "document"),
        ("\u202e\u200f", "document"),
    ],
)
def test_safe_display_name_strips_paths_and_invisible_characters(given, shown) -> None:
    assert safe_display_name(given) == shown


def test_safe_display_name_composes_decomposed_vietnamese() -> None:
    nfc = "Nguyễn Thị Hằng - Quyết định bổ nhiệm.pdf"
    shown = safe_display_name(unicodedata.normalize("NFD", nfc))
    assert shown == nfc and unicodedata.is_normalized("NFC", shown)


def test_safe_display_name_caps_a_long_name_and_keeps_its_extension() -> None:
    shown = safe_display_name("Giấy chứng nhận " * 40 + ".pdf")
    assert len(shown) <= 120 and shown.endswith(".pdf")
    assert len(safe_display_name("x" * 500 + ".pdf")) == 120


def test_safe_display_name_uses_the_given_fallback() -> None:
    assert safe_display_name("/", fallback="tai-lieu") == "tai-lieu"


@pytest.mark.parametrize(
    "name", ["../x.pdf", "a\\b.pdf", "x\x00.pdf", "invoice\u202egpj.pdf", "cv\u200b.pdf", "..", "a\nb.pdf"]
)
def test_names_with_paths_controls_or_bidi_are_suspicious(name) -> None:
    assert is_suspicious_name(name)


@pytest.mark.parametrize("name", ["Bằng đại học.pdf", "CV (1).PDF", "cv..pdf", "ảnh thẻ 3x4.jpg"])
def test_ordinary_vietnamese_names_are_not_suspicious(name) -> None:
    assert not is_suspicious_name(name)


def test_bad_name_rejection_has_a_message() -> None:
    assert "file name" in UploadRejected("bad_name").text


def test_rejection_messages_are_lazy_for_translation(corpus) -> None:
    rejection = refused(corpus["pdf_encrypted"])
    assert isinstance(rejection.message, Promise)
    assert str(rejection) == "pdf_encrypted"


# --- Stripping metadata --------------------------------------------------------


def _encodings(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-be"), unicodedata.normalize("NFD", text).encode("utf-8")]


def test_strip_pdf_metadata_removes_info_and_xmp_and_keeps_pages(corpus) -> None:
    original = corpus["pdf_with_metadata"].data
    before = PdfReader(io.BytesIO(original))
    assert before.metadata.author == AUTHOR and "/Metadata" in before.root_object
    assert "/Metadata" in before.pages[0]

    stripped = strip_pdf_metadata(original)

    after = PdfReader(io.BytesIO(stripped))
    assert after.metadata is None
    assert "/Metadata" not in after.root_object and "/Metadata" not in after.pages[0]
    assert after.trailer["/ID"][0] != before.trailer["/ID"][0]
    for secret in (AUTHOR, TITLE):
        assert not any(encoded in stripped for encoded in _encodings(secret))
    assert len(after.pages) == 1
    assert "Trần Văn Đức" in after.pages[0].extract_text()
    assert accepted(Sample(stripped, "bai-thi.pdf")).pages == 1


def test_strip_jpeg_metadata_removes_exif_xmp_icc_and_comment_and_keeps_pixels(corpus) -> None:
    original = corpus["jpeg"].data
    stripped = strip_image_metadata(original, "jpeg")

    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(stripped)) as after:
        assert {"exif", "icc_profile", "comment", "xmp"} <= set(before.info)
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(after.info)
        assert not after.getexif()
        assert after.size == before.size and after.mode == before.mode
        difference = [abs(a - b) for a, b in zip(before.tobytes(), after.tobytes(), strict=True)]
    assert sum(difference) / len(difference) < 2  # same quantisation tables: near-lossless
    assert not any(encoded in stripped for encoded in _encodings(AUTHOR))
    assert b"Samsung" not in stripped
    assert accepted(Sample(stripped, "anh.jpg")).kind == "jpeg"


def test_strip_png_metadata_removes_text_exif_and_icc_and_keeps_pixels_exactly(corpus) -> None:
    original = corpus["png"].data
    stripped = strip_image_metadata(original, "png")

    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(stripped)) as after:
        assert {"Author", "exif", "icc_profile"} <= set(before.info)
        assert not {"Author", "Comment", "exif", "icc_profile", "xmp"} & set(after.info)
        assert after.tobytes() == before.tobytes()
    for chunk in (b"iTXt", b"tEXt", b"zTXt", b"eXIf", b"iCCP"):
        assert chunk not in stripped
    assert not any(encoded in stripped for encoded in _encodings(AUTHOR))


def test_strip_jpeg_metadata_applies_the_exif_orientation_before_dropping_it() -> None:
    rotated = jpeg_with_metadata(size=(60, 40), orientation=6)  # "rotate 90° clockwise to view"
    with Image.open(io.BytesIO(strip_image_metadata(rotated, "jpeg"))) as after:
        assert after.size == (40, 60)


def test_strip_image_metadata_refuses_junk() -> None:
    with pytest.raises(UploadRejected) as caught:
        strip_image_metadata(b"\x89PNG\r\n\x1a\nnot really", "png")
    assert caught.value.code == "image_unparseable"


# --- Module boundaries ---------------------------------------------------------


def test_uploads_module_imports_nothing_from_django_but_gettext_lazy() -> None:
    tree = ast.parse(Path(candidates.uploads.__file__).read_text())
    django_imports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django"):
            django_imports |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("django") for alias in node.names)
    assert django_imports == {("django.utils.translation", "gettext_lazy")}


def test_pillow_pixel_limit_is_no_looser_than_the_default() -> None:
    assert Image.MAX_IMAGE_PIXELS <= candidates.uploads.DEFAULT_MAX_PIXELS
