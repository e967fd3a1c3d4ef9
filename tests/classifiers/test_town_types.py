"""Issue 17: a town or city named with a town's type word ("thị xã", "TP") is the town, not a
rural district of the same name elsewhere (the gazetteer's guessed types, scripts/build_gazetteer.py)."""

from __future__ import annotations

import pytest

from classifiers import classify

CASES = [
    ("Tôi sống ở thị xã Tân Uyên, công ty nợ BHXH 3 tháng", "79"),  # not huyện Tân Uyên, Lai Châu
    ("em o tx Tan Chau, hoi lam lai the bhyt o dau", "91"),  # not huyện Tân Châu, Tây Ninh
    ("Mình ở TP Phước Long, hỏi về lương hưu", "75"),  # not huyện Phước Long, Bạc Liêu
    ("Tôi ở thành phố Hòa Bình, muốn hỏi về thai sản", "25"),  # not huyện Hòa Bình, Bạc Liêu
]


@pytest.mark.parametrize(("body", "province"), CASES)
def test_a_town_type_word_names_the_town(body: str, province: str) -> None:
    assert classify(None, body, "facebook_message").province_code == province


def test_a_rural_district_keeps_its_own_full_name() -> None:
    assert classify(None, "Tôi ở huyện Tân Uyên, hỏi về thẻ BHYT", "facebook_message").province_code == "12"
