"""Hostile input: every recorded request, response and event with each value swapped for wrong types.

Decoding and planning must either succeed or raise ProtocolError -- never
another exception (the server would otherwise have to guess what went wrong).
"""
import json

import pytest

from ariproxy.errors import ProtocolError
from ariproxy.protocol import Event, Request, Response, spec_for
from tests.support.shared import shared_path

HOSTILE = [None, 0, -1, 1.5, 10 ** 30, True, "", "x.>", "\ud800", [], [1], {}, {"a": [None]}, "9" * 50]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _replace(obj, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(obj))
    target = copy
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return copy


def _mutations(obj):
    for path in _paths(obj):
        for value in HOSTILE:
            yield _replace(obj, path, value)


def _encode(obj):
    # surrogates cannot go through UTF-8 JSON text; send them escaped, as a hostile peer would
    return json.dumps(obj, ensure_ascii=True).encode()


def _plan_or_protocol_error(raw):
    try:
        req = Request.decode(raw)
        spec = spec_for(req.kind)
        if spec is not None:
            spec.plan(req, app="testapp")
        req.encode()
    except ProtocolError:
        pass


def _recorded_kinds():
    with open(shared_path("fixtures", "go-wire", "kinds.json"), encoding="utf-8") as f:
        return json.load(f)


def test_mutated_requests_only_raise_protocol_error():
    count = 0
    for rec in _recorded_kinds().values():
        for mutated in _mutations(json.loads(rec["example_request_raw"])):
            _plan_or_protocol_error(_encode(mutated))
            count += 1
    assert count > 5000


def test_mutated_responses_only_raise_protocol_error():
    for rec in _recorded_kinds().values():
        resp = rec.get("example_response")
        if not resp:
            continue
        for mutated in _mutations(resp):
            try:
                r = Response.decode(_encode(mutated))
                r.entity
                if r.entity is not None:
                    r.entity.key
                r.encode()
            except ProtocolError:
                pass


def test_mutated_events_only_raise_protocol_error():
    with open(shared_path("fixtures", "go-wire", "events.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    for rec in recorded.values():
        for mutated in _mutations(json.loads(rec["raw"])):
            try:
                event = Event.decode(_encode(mutated))
                event.keys()
                event.destroys()
                event.encode(application="a", asterisk_id="n", dialog="d")
            except ProtocolError:
                pass


@pytest.mark.parametrize("raw", [
    b"", b" ", b"\x00", b"\xc0\x80", b"\xed\xa0\x80", b"{" * 10, b'{"kind":"ChannelAnswer","key":{"id":"\\ud800"}}',
    b'{"kind":"ChannelDial","key":{"id":"c"},"channel_dial":{"timeout":1e400}}',
    b'{"kind":"ChannelDial","key":{"id":"c"},"channel_dial":{"timeout":NaN}}',
    b'{"kind":"ChannelDial","key":{"id":"c"},"channel_dial":{"timeout":-Infinity}}',
])
def test_odd_bytes(raw):
    _plan_or_protocol_error(raw)
