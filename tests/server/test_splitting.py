"""Splitting a large update into valid pieces: applied in order, they rebuild the same doc."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from server.splitting import split_update

texts = st.text(alphabet=st.sampled_from(list("abc ɛɔɲŋ é😀\n")), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("note"), st.integers(0, 15), texts),
        st.tuples(st.just("type"), st.integers(0, 15), texts),
        st.tuples(st.just("delete"), st.integers(0, 15), st.none()),
        st.tuples(st.just("json"), st.integers(0, 15), json_values),
        st.tuples(st.just("append"), st.integers(0, 3), json_values),
        st.tuples(st.just("cut"), st.integers(0, 3), st.none()),
    ),
    max_size=60,
)


def _build(operations: list, writers: int) -> Doc:
    """A doc edited by several clients (several client ids), merged into one."""
    docs = [Doc() for _ in range(writers)]
    for i, (op, key, value) in enumerate(operations):
        doc = docs[i % writers]
        notes, strokes = doc.get("notes", type=Map), doc.get("strokes", type=Array)
        name = f"n{key}"
        if op == "note":
            notes[name] = Map({"text": Text(value), "x": float(key)})
        elif op == "type" and name in notes and isinstance(notes[name], Map) and "text" in notes[name]:
            notes[name]["text"] += value
        elif op == "delete" and name in notes:
            del notes[name]
        elif op == "json":
            notes[name] = value
        elif op == "append":
            strokes.append(value)
        elif op == "cut" and len(strokes) > key:
            del strokes[key]
        for other in docs:
            if other is not doc:
                other.apply_update(doc.get_update(other.get_state()))
    return docs[0]


def _content(doc: Doc) -> tuple:
    return doc.get("notes", type=Map).to_py(), doc.get("strokes", type=Array).to_py()


@settings(max_examples=60, deadline=None)
@given(operations=ops, writers=st.integers(1, 3), limit=st.integers(1, 200))
def test_pieces_applied_in_order_rebuild_the_doc(operations: list, writers: int, limit: int) -> None:
    source = _build(operations, writers)
    update = source.get_update()
    pieces = split_update(update, limit)
    assert b"".join(pieces) != b"" and all(pieces)
    rebuilt = Doc()
    for piece in pieces:
        Doc().apply_update(piece)  # each piece is a valid update on its own
        rebuilt.apply_update(piece)
    assert _content(rebuilt) == _content(source)
    if len(update) > limit and len(pieces) > 1:
        assert max(len(p) for p in pieces) < len(update)


def test_a_big_board_is_cut_near_the_limit() -> None:
    doc = Doc()
    notes = doc.get("notes", type=Map)
    for i in range(2000):
        notes[f"n{i}"] = Map({"text": Text(f"Post-it {i} : accès aux financements ɛ ɔ"), "x": float(i)})
    update = doc.get_update()
    pieces = split_update(update, 16_384)
    assert len(pieces) >= len(update) // 16_384
    assert max(len(p) for p in pieces) < 16_384 + 1024
    rebuilt = Doc()
    for piece in pieces:
        rebuilt.apply_update(piece)
    assert rebuilt.get("notes", type=Map).to_py() == notes.to_py()


def test_small_or_strange_updates_are_returned_whole() -> None:
    assert split_update(b"\x00\x00", 1) == [b"\x00\x00"]
    garbage = b"\x05" + b"\xff" * 50
    assert split_update(garbage, 10) == [garbage]
