"""The committed catalogues are complete and compiled, so a fresh machine needs no GNU gettext."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = sorted(ROOT.glob("locale*/*/LC_MESSAGES/django.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def test_there_is_a_vietnamese_catalogue_for_the_project_and_for_allauth() -> None:
    assert {p.relative_to(ROOT).parts[0] for p in CATALOGUES} >= {"locale", "locale_vendor"}


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalogue_is_fully_translated_with_the_same_placeholders(po_path: Path) -> None:
    po = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert untranslated == []
    for entry in po.translated_entries():
        translations = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        # Vietnamese has one plural form: it may use the plural's placeholders (%(count)d).
        allowed = set(PLACEHOLDER.findall(entry.msgid)) | set(PLACEHOLDER.findall(entry.msgid_plural or ""))
        for text in translations:
            used = set(PLACEHOLDER.findall(text))
            assert used <= allowed, entry.msgid
            if not entry.msgid_plural:
                assert used == allowed, entry.msgid


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_matches_its_source(po_path: Path) -> None:
    def table(entries: list[polib.POEntry] | polib.MOFile) -> dict[tuple[str | None, str], str]:
        return {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0, "") for e in entries if e.msgid}

    source = table(polib.pofile(str(po_path)).translated_entries())
    assert table(polib.mofile(str(po_path.with_suffix(".mo")))) == source
