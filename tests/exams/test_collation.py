"""Vietnamese name ordering: given name first, then middle, then family; Vietnamese letter order."""

from __future__ import annotations

import random
import subprocess
import sys
import unicodedata

import pytest

from exams.collation import name_key, sort_names, word_key


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a", "ă"),
        ("ă", "â"),
        ("â", "b"),
        ("d", "đ"),
        ("đ", "e"),
        ("e", "ê"),
        ("o", "ô"),
        ("ô", "ơ"),
        ("ơ", "p"),
        ("u", "ư"),
        ("ư", "v"),
        ("Anh", "Ảnh"),
        ("Ảnh", "Ánh"),
        ("Ánh", "Ạnh"),
        ("Anh", "Ãnh"),
        ("Ân", "Bình"),
        ("Dũng", "Đào"),
        ("Lới", "Lợi"),
        ("Ngọc", "Nguyên"),
        ("Hà", "Hải"),
        ("Thu", "Thư"),
        ("Tâm", "Tân"),
    ],
)
def test_vietnamese_letters_and_tones_in_dictionary_order(before: str, after: str) -> None:
    assert word_key(before) < word_key(after)


def test_a_list_of_real_names_sorts_by_given_then_middle_then_family_name() -> None:
    expected = [
        "Nguyễn Thị Mai Anh",
        "Trần Thị Ánh",
        "Lê Văn Bình",
        "Phạm Quốc Cường",
        "Hoàng Thị Diệu",
        "Huỳnh Văn Dũng",
        "Võ Thị Thu Đào",
        "Đặng Văn Đức",
        "Bùi Thị Giang",
        "Đỗ Minh Hải",
        "Hồ Thị Hạnh",
        "Lê Văn Long",
        "Trần Văn Long",
        "Nguyễn Hữu Ơn",
        "Trần Thị Thu",
        "Nguyễn Thị Thư",
        "Dương Văn Ước",
        "Ngô Thị Yến",
    ]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert sort_names(shuffled) == expected


def test_a_code_point_sort_would_get_it_wrong() -> None:
    names = ["Đặng Văn Đức", "Lê Văn Dũng", "Lê Văn Em"]
    assert sorted(names, key=lambda n: n.split()[-1]) != sort_names(names)  # "Đ" > "E" in code points
    assert sort_names(names) == ["Lê Văn Dũng", "Đặng Văn Đức", "Lê Văn Em"]


def test_decomposed_input_sorts_like_composed_input() -> None:
    name = "Nguyễn Thị Ánh"
    assert name_key(unicodedata.normalize("NFD", name)) == name_key(name)


def test_middle_name_decides_before_family_name() -> None:
    assert sort_names(["An Văn Bình", "Bùi An Bình"]) == ["Bùi An Bình", "An Văn Bình"]


def test_the_module_does_not_import_django() -> None:
    code = "import sys, exams.collation; assert not any(m.startswith('django') for m in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
