"""Signed webhook bodies of every unexpected shape, over real HTTP: never a 500, nothing lost.

The cases are generated: every node of a valid Messenger event and of a valid comment change is
replaced in turn by each hostile value below, plus whole bodies that are other JSON values or
not JSON at all. Each is signed correctly, so only the reading of its shape is under test.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.conftest import make_settings
from tests.facebook.conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, process_all
from tests.facebook.webhook_server import PAGE_ID, USER, post_signed, serving
from tickets.db import get_engine, migrate, session_scope
from tickets.models import RawItem
from tickets.store import raw_content
from tiepnhan import runtime
from tiepnhan.failures import list_failures

DEEP = "__deep__"
DEPTH = 5_000  # beyond what a recursive JSON parser follows
HOSTILE: dict[str, Any] = {
    "a number": 7, "a negative number": -1, "a fraction": 0.5, "a huge number": 10**30, "a string": "x", "an empty string": "",
    "null": None, "true": True, "a list": [1, "a"], "an empty object": {}, "an object": {"k": {"k": "v"}}, "a 5,000-digit id": "9" * 5_000,
    "a lone surrogate": "\ud800", "terminal escapes": "\x1b[2J\x1b]0;x\x07", "deeply nested JSON": DEEP, "a LIKE wildcard": "%",
}
# Fields read leniently: an unreadable time means the arrival time; is_echo is not read at all.
LENIENT = {"timestamp", "time", "created_time", "is_echo"}


def messenger_event(n: int) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1760000000000, "messaging": [
        {"sender": {"id": USER}, "recipient": {"id": PAGE_ID}, "timestamp": 1760000000000,
         "message": {"mid": f"m_{n}", "text": "Cho tôi hỏi về BHXH tự nguyện",
                     "attachments": [{"type": "image", "payload": {"url": "https://example.org/a.jpg"}}]}}]}]}


def comment_change(n: int) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1760000000, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": f"{PAGE_ID}_p1_c{n}", "post_id": f"{PAGE_ID}_p1", "parent_id": f"{PAGE_ID}_p1",
        "from": {"id": "900002", "name": "Lê Văn Nam"}, "message": "Sổ BHYT của tôi bị sai", "created_time": 1760000000,
        "photo": "https://example.org/p.jpg"}}]}]}


def node_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path below the root of a JSON value, parents before children."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        yield (*prefix, key)
        yield from node_paths(child, (*prefix, key))


def replaced(payload: Any, path: tuple[Any, ...], new: Any) -> Any:
    mutant = copy.deepcopy(payload)
    parent = mutant
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return mutant


def encode(payload: Any) -> bytes:
    text = json.dumps(payload)  # Facebook's serialization: non-ASCII escaped
    return text.replace(json.dumps(DEEP), "[" * DEPTH + "]" * DEPTH).encode()


def value_at(payload: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        payload = payload[key]
    return payload


def mutants() -> Iterator[tuple[str, bytes, Any, tuple[Any, ...], Any]]:
    """(name, body, valid original, path, hostile value) for every node × hostile value."""
    n = 0
    for make in (messenger_event, comment_change):
        for path in list(node_paths(make(0))):
            for label, value in HOSTILE.items():
                n += 1
                original = make(n)
                yield f"{make.__name__}: {'.'.join(map(str, path))} = {label}", encode(replaced(original, path, value)), original, path, value


def whole_bodies() -> Iterator[tuple[str, bytes, int]]:
    """(name, body, expected status): JSON that is not an object, and bodies that are not JSON."""
    for value in (7, -0.5, "page", None, True, [], [messenger_event(0)]):
        yield f"the JSON value {json.dumps(value)[:20]}", json.dumps(value).encode(), 200
    valid = encode(messenger_event(10_000))
    yield "deeply nested JSON as the whole body", ("[" * DEPTH + "]" * DEPTH).encode(), 200
    yield "an unknown field on every object", json.dumps(_with_unknown_fields(messenger_event(10_001))).encode(), 200
    yield "an empty body", b"", 400
    yield "a truncated body", valid[: len(valid) // 2], 400
    yield "NaN, which JSON does not have", valid.replace(b"1760000000000,", b"NaN,", 1), 400
    yield "Latin-1 bytes, not UTF-8", json.dumps(messenger_event(10_002), ensure_ascii=False).encode("latin-1", errors="replace").replace(b"?", b"\xe0"), 400
    yield "a lone continuation byte in a string", valid.replace(b"Cho t", b"Cho \x80t", 1), 400
    yield "a UTF-16 body", json.dumps(messenger_event(10_003)).encode("utf-16"), 400


def _with_unknown_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {**{k: _with_unknown_fields(v) for k, v in value.items()}, "unexpected_field": {"nested": [1, 2, {"x": None}]}}
    if isinstance(value, list):
        return [_with_unknown_fields(v) for v in value]
    return value


@contextmanager
def served(engine: Engine, tmp_path: Path) -> Iterator[str]:
    page = {"name": "fanpage", "page_id": PAGE_ID, "access_token": PAGE_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    settings = runtime.configure(make_settings(engine.url.render_as_string(hide_password=False), tmp_path, facebook_pages=[page]))
    with serving(settings) as (base, _port):
        yield base


@pytest.fixture
def web(engine: Engine, tmp_path: Path) -> Iterator[str]:
    with served(engine, tmp_path) as base:
        yield base


@pytest.fixture
def both_engine(db_url: str) -> Engine:
    """SQLite and PostgreSQL (which refuses in text what SQLite takes)."""
    db = get_engine(db_url)
    migrate(db)
    return db


@pytest.fixture
def both_web(both_engine: Engine, tmp_path: Path) -> Iterator[str]:
    with served(both_engine, tmp_path) as base:
        yield base


def delivery(engine: Engine, body: bytes) -> tuple[RawItem, bytes] | None:
    """The quarantined copy of a whole body, with its stored bytes."""
    with session_scope(engine) as session:
        raw = session.execute(select(RawItem).where(RawItem.external_id == f"webhook:sha256:{hashlib.sha256(body).hexdigest()}")).scalar_one_or_none()
        if raw is None:
            return None
        session.expunge(raw)
        return raw, raw_content(session, raw)


def raw_states(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        states: dict[str, int] = {}
        for state in session.execute(select(RawItem.state).where(RawItem.kind != "unreadable_file")).scalars():
            states[state] = states.get(state, 0) + 1
        return states


def test_every_signed_mutant_is_answered_and_kept(both_web: str, both_engine: Engine) -> None:
    web, engine = both_web, both_engine
    problems: list[str] = []
    cases = 0
    for name, body, original, path, value in mutants():
        cases += 1
        status, answer = post_signed(web, body)
        if status != 200 or not isinstance(answer, dict):
            problems.append(f"{name}: {status} {str(answer)[:200]}")
            continue
        kept = delivery(engine, body)
        if answer["quarantined"]:
            if kept is None or kept[0].state != "quarantined" or kept[1] != body or not kept[0].last_error:
                problems.append(f"{name}: answered quarantined, but the body is not kept quarantined with its reason")
        elif kept is not None:
            problems.append(f"{name}: a body kept without being reported")
        if answer["received"] + answer["ignored"] + answer["quarantined"] < 1:
            problems.append(f"{name}: the event vanished: {answer}")
        # A leaf that must be an id or a text, given an object or a list: not read, so quarantined.
        leaf = not isinstance(value_at(original, path), dict | list)
        if leaf and isinstance(value, dict | list) and path[-1] not in LENIENT and not answer["quarantined"]:
            problems.append(f"{name}: an {type(value).__name__} in place of a value was taken in: {answer}")
    assert cases > 400
    assert not problems, f"{len(problems)} of {cases} cases:\n" + "\n".join(problems[:40])
    # What was taken in goes through the pipeline: read, or quarantined as the item's fault; never
    # left failed by an unexpected exception.
    process_all(engine)
    states = raw_states(engine)
    assert states.get("processed", 0) > 100 and set(states) <= {"processed", "quarantined"}, states


@pytest.mark.parametrize(("name", "body", "expected"), list(whole_bodies()), ids=[case[0] for case in whole_bodies()])
def test_whole_bodies_of_other_kinds_are_kept(web: str, engine: Engine, name: str, body: bytes, expected: int) -> None:
    status, answer = post_signed(web, body)
    assert status == expected, (name, answer)
    if expected == 200 and isinstance(answer, dict) and answer["received"]:
        assert not answer["quarantined"] and delivery(engine, body) is None
        return
    kept = delivery(engine, body)
    assert kept is not None, f"{name}: the signed body was not kept"
    raw, content = kept
    assert content == body and raw.state == "quarantined" and raw.kind == "unreadable_file"
    failures = [row for row in list_failures(engine) if row.ref == f"raw-{raw.id}"]
    assert failures and failures[0].error and failures[0].error.startswith("webhook delivery not read in full")


def test_the_same_unreadable_delivery_twice_is_kept_once(web: str, engine: Engine) -> None:
    body = json.dumps({"object": "page", "entry": 5}).encode()
    assert post_signed(web, body)[0] == 200
    assert post_signed(web, body)[1] == {"received": 0, "new": 0, "ignored": 0, "quarantined": 1}
    assert len([row for row in list_failures(engine) if row.kind == "raw_item"]) == 1


def test_readable_events_beside_an_unreadable_one_are_taken_in(web: str, engine: Engine) -> None:
    payload = messenger_event(1)
    good = payload["entry"][0]["messaging"][0]
    payload["entry"][0]["messaging"] = [good, {**good, "sender": "900001"}, replaced(good, ("message", "mid"), "m_2")]
    body = json.dumps(payload).encode()
    status, answer = post_signed(web, body)
    assert status == 200 and isinstance(answer, dict) and (answer["received"], answer["quarantined"]) == (2, 1)
    kept = delivery(engine, body)
    assert kept is not None and "entry[0].messaging[1].sender: expected an object, got a string" in (kept[0].last_error or "")
    process_all(engine)
    assert raw_states(engine) == {"processed": 2}


def test_a_delivery_of_many_removals_is_read_in_bounded_queries(both_web: str, both_engine: Engine) -> None:
    web, engine = both_web, both_engine
    known = comment_change(0)
    assert post_signed(web, json.dumps(known).encode())[1]["new"] == 1  # type: ignore[index]
    payload = comment_change(0)
    removal = payload["entry"][0]["changes"][0]
    removal["value"]["verb"] = "remove"
    payload["entry"][0]["changes"] = [replaced(removal, ("value", "comment_id"), f"{PAGE_ID}_p1_c{n}") for n in range(1_500)]
    status, answer = post_signed(web, json.dumps(payload).encode())
    assert status == 200 and isinstance(answer, dict) and (answer["received"], answer["new"]) == (1_500, 1), answer
    with session_scope(engine) as session:
        stored = sorted(session.execute(select(RawItem.external_id)).scalars())
    assert stored == [f"{PAGE_ID}_p1_c0", f"{PAGE_ID}_p1_c0#deleted"]
