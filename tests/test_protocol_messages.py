"""Key, Request, Response, EntityData, Announcement against hand-written JSON (PROTOCOL.md 2-6)."""
import json

import pytest

from ariproxy.errors import NotFound, NotImplementedByServer, ProtocolError
from ariproxy.protocol import (MAX_MESSAGE_BYTES, PING_PAYLOAD, Announcement, EntityData, Key, Request,
                               Response)


def parsed(data):
    return json.loads(data.decode("utf-8"))


# ---------------------------------------------------------------- Key

def test_key_round_trip_all_fields():
    raw = '{"kind": "channel", "id": "1712345678.12", "node": "00:11:22:33:44:55", "dialog": "d1", "app": "test"}'
    key = Key.decode(raw)
    assert key == Key("channel", "1712345678.12", "00:11:22:33:44:55", "d1", "test")
    assert parsed(key.encode()) == json.loads(raw)


def test_key_omits_empty_fields_and_empty_key_is_empty_object():
    assert Key("channel", "c1").to_dict() == {"kind": "channel", "id": "c1"}
    assert Key().encode() == b"{}"
    assert not Key()
    assert Key(app="x")


def test_key_tolerant_decoding():
    assert Key.from_dict(None) is None
    assert Key.from_dict({}) == Key()
    # no kind (a Go SoundList quirk is the opposite: kind without id), nulls, unknown fields
    assert Key.from_dict({"id": "x", "node": None, "extra": [1, 2]}) == Key(id="x")
    assert Key.from_dict({"kind": "sound", "node": "n", "app": "a"}) == Key("sound", "", "n", "", "a")


def test_key_is_hashable_and_immutable():
    a = Key("channel", "c1", "n", "", "app")
    b = Key.from_dict({"app": "app", "id": "c1", "kind": "channel", "node": "n"})
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    with pytest.raises(AttributeError):
        a.id = "other"


def test_key_helpers():
    k = Key("channel", "c1", "n1", "d1", "app")
    assert k.new("playback", "p1") == Key("playback", "p1", "n1", "d1", "app")
    assert k.with_(node="n2").node == "n2"
    assert k.match(Key("channel", "c1")) and k.match(Key(id="c1", node="n1"))
    assert not k.match(Key("channel", "c2")) and not k.match(None)
    assert repr(Key("bridge", "b")) == "Key(kind='bridge', id='b')"


@pytest.mark.parametrize("bad", [
    '{"kind": 1}', '{"id": ["x"]}', '{"node": {"a": 1}}', '{"app": true}', '[]', '"key"', '12',
])
def test_key_wrong_types(bad):
    with pytest.raises(ProtocolError):
        Key.decode(bad)


def test_key_validate_refuses_hostile_tokens():
    Key("channel", "a.b.c", "00:11:22:33:44:55", "d1", "app").validate()  # ids may hold dots
    for field in ("node", "app", "dialog"):
        for bad in ("x.>", "*", "a b", "a\tb", "a\nb"):
            with pytest.raises(ProtocolError, match="key." + field):
                Key(**{field: bad}).validate()


# ---------------------------------------------------------------- Request

PLAY = ('{"kind": "ChannelPlay", "key": {"kind":"channel","id":"c1","node":"00:11:22:33:44:55","app":"test"},'
        ' "channel_play": {"playback_id": "pb1", "media_uri": "sound:hello-world"}}')


def test_request_decode_and_encode():
    req = Request.decode(PLAY)
    assert req.kind == "ChannelPlay"
    assert req.key == Key("channel", "c1", "00:11:22:33:44:55", "", "test")
    assert req.payload_field == "channel_play"
    assert req.payload == {"playback_id": "pb1", "media_uri": "sound:hello-world"}
    assert parsed(req.encode()) == json.loads(PLAY)
    assert Request.decode(req.encode()) == req


def test_request_without_payload_or_key():
    assert parsed(Request("ChannelList").encode()) == {"kind": "ChannelList", "key": {}}
    for raw in ('{"kind":"AsteriskInfo","key":null}', '{"kind":"AsteriskInfo","key":{}}', '{"kind":"AsteriskInfo"}'):
        req = Request.decode(raw)
        assert req.kind == "AsteriskInfo" and req.key == Key() and req.payload_field is None


def test_request_ignores_unknown_fields_and_payloads_of_other_kinds():
    # recorded in wire_extra: the Go server ignores both
    req = Request.decode('{"kind":"AsteriskInfo","key":{"app":"testapp"},"bogus_field":123,"channel_dial":{"timeout":1}}')
    assert req.kind == "AsteriskInfo" and req.key == Key(app="testapp")


def test_request_prefers_the_payload_of_its_kind():
    raw = '{"kind":"ChannelMute","key":{},"channel_dial":{"timeout":1},"channel_mute":{"direction":"in"}}'
    req = Request.decode(raw)
    assert req.payload_field == "channel_mute" and req.payload == {"direction": "in"}


def test_request_empty_kind_is_kept():
    req = Request.decode(PING_PAYLOAD)
    assert req.kind == "" and req.key == Key()


@pytest.mark.parametrize("bad", [
    b"this is not json", b"", b"[]", b"null", b'"x"', b'{"kind": 5}', b'{"kind": ["ChannelAnswer"]}',
    b'{"kind":"ChannelAnswer","key":[]}', b'{"kind":"ChannelAnswer","key":"c1"}',
    b'{"kind":"ChannelAnswer","key":{"id":7}}', b'{"kind":"ChannelPlay","key":{},"channel_play":"x"}',
    b'{"kind":"ChannelPlay","key":{},"channel_play":[1]}', b'\xff\xfe{"kind":"x"}',
    b'{"kind":"\xc3\x28"}', b"[" * 100000 + b"]" * 100000, b'{"kind":"x","n":' + b"9" * 10000 + b"}",
    b'{"kind":"x"', b"{'kind':'x'}",
])
def test_request_malformed_raises_protocol_error_only(bad):
    with pytest.raises(ProtocolError):
        Request.decode(bad)


def test_request_non_bytes_input():
    for bad in (None, 5, object(), ["x"]):
        with pytest.raises(ProtocolError):
            Request.decode(bad)


def test_two_megabyte_string_is_fine():
    big = "x" * (2 * 1024 * 1024)
    raw = json.dumps({"kind": "ChannelVariableSet", "key": {"kind": "channel", "id": "c"},
                      "channel_variable": {"name": "V", "value": big}}).encode()
    req = Request.decode(raw)
    assert req.payload["value"] == big
    assert Request.decode(req.encode()) == req


def test_oversized_message_is_refused_cleanly():
    raw = b'{"kind":"x","pad":"' + b"a" * MAX_MESSAGE_BYTES + b'"}'
    with pytest.raises(ProtocolError, match="limit"):
        Request.decode(raw)
    with pytest.raises(ProtocolError):
        Response.decode(raw)


def test_lone_surrogate_refused_on_encode():
    req = Request.decode('{"kind":"ChannelVariableSet","key":{},"channel_variable":{"name":"\\ud800"}}')
    with pytest.raises(ProtocolError):
        req.encode()


def test_memoryview_and_str_input():
    assert Request.decode(memoryview(PLAY.encode())).kind == "ChannelPlay"
    assert Request.decode(bytearray(PLAY.encode())).kind == "ChannelPlay"


# ---------------------------------------------------------------- Response / EntityData

def test_response_command_success_is_error_only():
    assert Response().encode() == b'{"error":""}'
    resp = Response.decode('{"error":""}')
    assert resp.ok and resp.data is None and resp.key is None and resp.keys == []


def test_response_with_data_key_keys():
    raw = {"error": "", "data": {"channel": {"id": "c1", "key": {"kind": "channel", "id": "c1", "node": "n"}}},
           "key": {"kind": "channel", "id": "c1"}, "keys": [{"kind": "channel", "id": "c1"}, {"kind": "channel", "id": "c2"}]}
    resp = Response.decode(json.dumps(raw))
    assert resp.key == Key("channel", "c1")
    assert resp.keys == [Key("channel", "c1"), Key("channel", "c2")]
    entity = resp.entity
    assert entity.field == "channel" and entity.value["id"] == "c1"
    assert entity.key == Key("channel", "c1", "n")
    assert parsed(resp.encode()) == raw


def test_response_empty_lists_and_unset_variable():
    assert Response(keys=[]).encode() == b'{"error":""}'
    resp = Response.decode('{"error":"","data":{}}')
    assert resp.data == {} and resp.entity.field is None
    assert Response(data=EntityData("variable", "")).encode() == b'{"error":"","data":{}}'
    assert Response(data=EntityData("variable", "v")).encode() == b'{"error":"","data":{"variable":"v"}}'


def test_response_errors_map_to_exceptions():
    with pytest.raises(NotFound):
        Response.decode('{"error":"Non-2XX response: 404 Not Found"}').raise_for_error()
    with pytest.raises(NotImplementedByServer):
        Response(error="Not implemented").raise_for_error()
    assert Response().raise_for_error().ok


def test_response_tolerant_missing_error():
    assert Response.decode('{"keys":null,"extra":1}').ok


@pytest.mark.parametrize("bad", [
    '{"error": 5}', '{"error": "", "data": []}', '{"error": "", "data": "x"}', '{"error": "", "key": 1}',
    '{"error": "", "keys": {}}', '{"error": "", "keys": [1]}', '[]', 'nope',
])
def test_response_malformed(bad):
    with pytest.raises(ProtocolError):
        Response.decode(bad)


def test_entity_data_build_adds_key():
    data = EntityData.build("bridge", {"id": "b1"}, Key("bridge", "b1", "n", "", "a"))
    assert data.to_dict() == {"bridge": {"id": "b1", "key": {"kind": "bridge", "id": "b1", "node": "n", "app": "a"}}}
    with pytest.raises(ProtocolError):
        EntityData.build("nonsense", {})


@pytest.mark.parametrize("bad", [{"channel": "x"}, {"variable": 5}, {"channel": [1]}])
def test_entity_data_wrong_types(bad):
    with pytest.raises(ProtocolError):
        EntityData.from_dict(bad)


def test_entity_data_unknown_field_ignored():
    assert EntityData.from_dict({"future": {"x": 1}, "sound": {"id": "s"}}).field == "sound"


# ---------------------------------------------------------------- Announcement

def test_announcement_encode_writes_node():
    raw = Announcement("00:11:22:33:44:55", "testapp").encode()
    assert raw == b'{"node":"00:11:22:33:44:55","application":"testapp"}'


@pytest.mark.parametrize("raw", [
    '{"node":"00:11:22:33:44:55","application":"testapp"}',
    '{"asterisk":"00:11:22:33:44:55","application":"testapp"}',
    '{"application":"testapp","node":"00:11:22:33:44:55","extra":true}',
])
def test_announcement_reads_node_or_asterisk(raw):
    assert Announcement.decode(raw) == Announcement("00:11:22:33:44:55", "testapp")


@pytest.mark.parametrize("bad", [
    '{}', '{"application":"a"}', '{"node":5}', '{"node":""}', '{"node":"a.b"}', '{"node":"n","application":"x.>"}',
    '{"node":"n","application":7}', '[1]', 'junk',
])
def test_announcement_malformed(bad):
    with pytest.raises(ProtocolError):
        Announcement.decode(bad)
