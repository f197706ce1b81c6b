from __future__ import annotations

import math

import pytest

from boards import schema as s


def test_new_ids_match_the_id_regex_and_differ():
    ids = {s.new_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(s.is_id(i) for i in ids)


def test_now_iso_has_the_browser_shape():
    value = s.now_iso()
    assert len(value) == 24 and value.endswith("Z") and value[10] == "T" and value[19] == "."


@pytest.mark.parametrize("value", ["", "a" * 65, "with space", "é", "a/b", None, 3])
def test_bad_ids_are_refused(value):
    with pytest.raises(ValueError, match="must match"):
        s.check_id(value)


@pytest.mark.parametrize("value", ["#fff", "ff00aa", "#gg0000", "#ff00aa0", "", None])
def test_bad_colours_are_refused(value):
    with pytest.raises(ValueError, match="colour"):
        s.check_color(value)


def test_colours_are_lower_cased():
    assert s.check_color("#FFAA00") == "#ffaa00"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "1", None, 1e12])
def test_bad_numbers_are_refused(value):
    with pytest.raises(ValueError):
        s.check_number(value, "x")


def test_numbers_come_back_as_floats():
    assert type(s.check_number(3, "x")) is float


def test_sizes_must_be_positive():
    with pytest.raises(ValueError, match="greater than 0"):
        s.check_size(0, "w")


def test_functions_are_checked_deduplicated_and_ordered():
    assert s.check_functions(["mise-en-oeuvre", "decision", "decision"]) == ("decision", "mise-en-oeuvre")
    with pytest.raises(ValueError, match="unknown governance function"):
        s.check_functions(["pouvoir"])
    with pytest.raises(ValueError, match="list"):
        s.check_functions("decision")


def test_country_codes():
    assert s.check_country("ml") == "ML"
    assert s.check_country("") == ""
    with pytest.raises(ValueError, match="ISO"):
        s.check_country("Mali")


def test_text_limits_and_lone_surrogates():
    with pytest.raises(ValueError, match="too long"):
        s.check_text("x" * (s.MAX_TEXT_LEN + 1))
    with pytest.raises(ValueError, match="surrogate"):
        s.check_text("a\ud800")
    assert s.check_text("An bɛ ɲɔgɔn dɛmɛ ŋ") == "An bɛ ɲɔgɔn dɛmɛ ŋ"


def test_points_must_be_pairs():
    assert s.check_points([0, 1, 2, 3]) == (0.0, 1.0, 2.0, 3.0)
    for bad in ([], [1, 2, 3], [1, math.nan]):
        with pytest.raises(ValueError):
            s.check_points(bad)


def test_votes_per_person():
    assert s.check_votes_per_person(5.0) == 5
    for bad in (-1, 2.5, s.MAX_VOTES_PER_PERSON + 1, "3"):
        with pytest.raises(ValueError, match="votes_per_person"):
            s.check_votes_per_person(bad)
