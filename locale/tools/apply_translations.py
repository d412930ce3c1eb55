"""Fills a .po catalogue from a JSON {msgid: msgstr} file and compiles it (no GNU gettext needed).

Usage: .venv/bin/python locale/tools/apply_translations.py vi translations.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]


def main(language: str, source: str | None) -> None:
    po_path = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    table = json.loads(Path(source).read_text(encoding="utf-8")) if source else {}
    for entry in po:
        if entry.msgid in table:
            if entry.msgid_plural:
                entry.msgstr_plural = {0: table[entry.msgid]}
            else:
                entry.msgstr = table[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.metadata["Language"] = language
    po.save()
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    missing = [e.msgid for e in po if not e.translated() and not e.obsolete]
    print(f"{po_path.relative_to(ROOT)}: {len(po.translated_entries())} translated, {len(missing)} missing")
    for msgid in missing:
        print("  missing:", msgid[:100])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
