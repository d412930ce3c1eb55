"""Vietnamese name ordering, as official lists sort them (pure Python, no Django).

Lists of candidates are sorted by given name (tên, the last word), then middle name(s)
(tên đệm), then family name (họ). Within a word, letters follow the Vietnamese alphabet,
where the letters with breve, circumflex, horn and the stroked d are letters of their own:

    a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y   (f j w z for foreign names)

Tone marks are a secondary difference, in dictionary order: none, huyền (`), hỏi (̉), ngã (~),
sắc (´), nặng (.). So "Anh" < "Ảnh" < "Ánh" is decided only when the letters are equal.
Digraphs (ch, gh, kh, ng, nh, ph, th, tr, gi, qu) are sequences of letters, as in Unicode CLDR.
"""

from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
LETTER_RANK = {letter: rank for rank, letter in enumerate(ALPHABET)}
# Combining marks that make a new letter (kept with the base) and those that give the tone.
LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn
TONE_RANK = {"": 0, "\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}

WordKey = tuple[tuple[int, ...], tuple[int, ...]]


def _letters(word: str) -> list[tuple[str, str]]:
    """(letter, tone mark) pairs of a word, the letter recomposed with its own marks."""
    result: list[tuple[str, str]] = []
    for char in unicodedata.normalize("NFD", word.lower()):
        if unicodedata.combining(char):
            if not result:
                continue
            letter, tone = result[-1]
            if char in LETTER_MARKS:
                result[-1] = (unicodedata.normalize("NFC", letter + char), tone)
            elif char in TONE_RANK:
                result[-1] = (letter, char)
            continue
        result.append((char, ""))
    return result


def word_key(word: str) -> WordKey:
    letters = _letters(word)
    # Unknown characters (digits, other scripts) sort after the alphabet, by code point.
    primary = tuple(LETTER_RANK.get(letter, len(ALPHABET) + ord(letter[0])) for letter, _ in letters)
    secondary = tuple(TONE_RANK[tone] for _, tone in letters)
    return primary, secondary


def name_key(full_name: str) -> tuple[WordKey, tuple[WordKey, ...], WordKey, str]:
    """Sort key of a Vietnamese full name written "Họ Đệm Tên": given, then middle, then family."""
    words = unicodedata.normalize("NFC", full_name).split()
    if not words:
        return ((), ()), (), ((), ()), ""
    given = word_key(words[-1])
    family = word_key(words[0]) if len(words) > 1 else ((), ())
    middle = tuple(word_key(w) for w in words[1:-1])
    # The full string last: a deterministic order for identical keys (never database order).
    return given, middle, family, unicodedata.normalize("NFC", full_name)


def sort_names(names: list[str]) -> list[str]:
    return sorted(names, key=name_key)
