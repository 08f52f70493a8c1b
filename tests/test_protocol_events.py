"""Event decoding and event keys (PROTOCOL.md 7) against the spec's models and recorded events."""
import glob
import json
import os

import pytest

from ariproxy.errors import ProtocolError
from ariproxy.protocol import DESTROYING_EVENTS, ENTITY_MODELS, EVENT_ENTITY_FIELDS, Event, Key
from tests.support.shared import shared_path

# Models referenced by events that are not addressable entities (no id a Key could carry).
NOT_ENTITIES = {"ContactInfo", "Peer", "TextMessage", "RequiredDestination", "AdditionalParam",
                "RESTHeader", "RESTQueryStringParameter"}
PRIMITIVES = {"string", "int", "long", "double", "boolean", "Date", "object"}


def _models():
    models = {}
    for path in glob.glob(os.path.join(shared_path("ari-api-docs"), "*.json")):
        with open(path, encoding="utf-8") as f:
            models.update(json.load(f).get("models", {}))
    return models


def _strip_list(t):
    return t[5:-1] if t.startswith("List[") else t


def test_events_json_walk():
    """Every event type of the spec is in the table, and every entity-typed field (nested too) is covered."""
    with open(shared_path("ari-api-docs", "events.json"), encoding="utf-8") as f:
        event_models = json.load(f)["models"]
    all_models = _models()
    event_types = set(event_models["Event"]["subTypes"])
    assert set(EVENT_ENTITY_FIELDS) == event_types

    def walk(model_name, prefix, found):
        for prop, info in all_models[model_name].get("properties", {}).items():
            t = _strip_list(info["type"])
            path = prefix + (prop,)
            if t in ENTITY_MODELS:
                found.add((path, ENTITY_MODELS[t][0], ENTITY_MODELS[t][1]))
            elif t in PRIMITIVES:
                continue
            elif t in NOT_ENTITIES:
                continue
            elif t in event_models and t not in event_types and t not in ("Event", "Message"):
                walk(t, path, found)        # containers such as ChannelTransfer's ReferTo
            else:
                pytest.fail("%s.%s has type %s: add it to ENTITY_MODELS or decide it is no entity"
                            % (model_name, ".".join(path), t))

    for etype in sorted(event_types):
        found = set()
        walk(etype, (), found)
        table = set(EVENT_ENTITY_FIELDS[etype])
        object_fields = {f for f in table if f[2] != "string"}
        assert object_fields == found, etype
        for path, kind, reader in table - object_fields:   # id-valued string fields
            prop = all_models[etype]["properties"][path[-1]]
            assert prop["type"] == "string", (etype, path)


def test_entity_models_have_their_id_fields():
    models = _models()
    for model, (kind, reader) in ENTITY_MODELS.items():
        props = models[model]["properties"]
        if reader == "endpoint":
            assert "technology" in props and "resource" in props
        else:
            assert reader in props, model


def test_destroying_events_are_in_the_table():
    for etype, paths in DESTROYING_EVENTS.items():
        table_paths = {f[0] for f in EVENT_ENTITY_FIELDS[etype]}
        assert set(paths) <= table_paths


# ---------------------------------------------------------------- recorded events

def _heuristic_keys(body):
    """Entities found by looking at the objects' shapes, independent of the table."""
    out = set()
    for name, value in body.items():
        if not isinstance(value, dict):
            continue
        if {"id", "state", "caller", "dialplan"} <= set(value) and value["id"]:
            out.add(("channel", value["id"]))
        elif "bridge_type" in value and value.get("id"):
            out.add(("bridge", value["id"]))
        elif "media_uri" in value and value.get("id"):
            out.add(("playback", value["id"]))
        elif "target_uri" in value and "format" in value and value.get("name"):
            out.add(("liverecording", value["name"]))
        elif "technology" in value and value.get("resource"):
            out.add(("endpoint", value["technology"] + "/" + value["resource"]))
        elif name == "device_state" and value.get("name"):
            out.add(("devicestate", value["name"]))
    return out


def _asterisk_samples():
    for path in sorted(glob.glob(os.path.join(shared_path("fixtures", "asterisk", "events"), "*.json"))):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for sample in doc["samples"]:
            yield doc["type"], sample["event"]


def test_recorded_asterisk_events_decode_with_keys():
    types = set()
    for etype, body in _asterisk_samples():
        raw = json.dumps(body).encode()
        event = Event.decode(raw)
        assert event.type == etype and event.raw == raw and event.body == body
        assert event.application == body["application"] and event.asterisk_id == body.get("asterisk_id", "")
        assert event.timestamp == body["timestamp"]
        keys = event.keys()
        for key in keys:
            assert key.id and key.node == event.asterisk_id and key.app == event.application and not key.dialog
        assert len(set(keys)) == len(keys)
        assert _heuristic_keys(body) <= {(k.kind, k.id) for k in keys}, etype
        types.add(etype)
    assert len(types) == 31


def test_recorded_go_events_decode_with_keys():
    with open(shared_path("fixtures", "go-wire", "events.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    for name, rec in recorded.items():
        event = Event.decode(rec["raw"].encode())
        assert name.endswith(":" + event.type)
        if name.startswith("dialogevent:"):
            assert event.dialog and rec["subject"].endswith("." + event.dialog)
        else:
            assert not event.dialog
        # Go's zero-valued sub-objects (replace_channel with an empty id) give no key
        assert all(k.id for k in event.keys())
        assert _heuristic_keys(event.body) == {(k.kind, k.id) for k in event.keys()}, name


def test_specific_event_keys():
    node, app = "00:11:22:33:44:55", "test"
    dial = Event.decode(json.dumps({
        "type": "Dial", "application": app, "asterisk_id": node,
        "caller": {"id": "c1"}, "peer": {"id": "p1"}, "forwarded": {"id": ""}}))
    assert dial.keys() == [Key("channel", "c1", node, "", app), Key("channel", "p1", node, "", app)]
    rec = Event.decode('{"type":"RecordingStarted","application":"a","recording":{"name":"r1","format":"wav"}}')
    assert rec.keys() == [Key("liverecording", "r1", "", "", "a")]
    ep = Event.decode('{"type":"EndpointStateChange","endpoint":{"technology":"PJSIP","resource":"alice"}}')
    assert ep.keys() == [Key("endpoint", "PJSIP/alice")]
    transfer = Event.decode(json.dumps({
        "type": "ChannelTransfer", "refer_to": {"destination_channel": {"id": "d"}, "bridge": {"id": "b"},
                                                "requested_destination": {"destination": "x"}},
        "referred_by": {"source_channel": {"id": "s"}}}))
    assert [(k.kind, k.id) for k in transfer.keys()] == [("channel", "d"), ("bridge", "b"), ("channel", "s")]
    att = Event.decode('{"type":"BridgeAttendedTransfer","transferer_first_leg":{"id":"a"},'
                       '"transferer_second_leg":{"id":"b"},"destination_bridge":"br9"}')
    assert [(k.kind, k.id) for k in att.keys()] == [("channel", "a"), ("channel", "b"), ("bridge", "br9")]
    merged = Event.decode('{"type":"BridgeMerged","bridge":{"id":"b1"},"bridge_from":{"id":"b2"}}')
    assert [k.id for k in merged.keys()] == ["b1", "b2"]
    assert Event.decode('{"type":"ApplicationReplaced","application":"a"}').keys() == []
    # an event type newer than our table still yields its common entities
    assert Event.decode('{"type":"ChannelFutureThing","channel":{"id":"c"}}').keys() == [Key("channel", "c")]


def test_destroys():
    assert Event.decode('{"type":"ChannelDestroyed","asterisk_id":"n","channel":{"id":"c"}}').destroys() == [
        Key("channel", "c", "n")]
    assert Event.decode('{"type":"PlaybackFinished","playback":{"id":"p"}}').destroys() == [Key("playback", "p")]
    assert Event.decode('{"type":"RecordingFailed","recording":{"name":"r"}}').destroys() == [Key("liverecording", "r")]
    assert Event.decode('{"type":"BridgeDestroyed","bridge":{"id":"b"}}').destroys() == [Key("bridge", "b")]
    assert Event.decode('{"type":"StasisEnd","channel":{"id":"c"}}').destroys() == []


# ---------------------------------------------------------------- encode (republishing)

RAW = b'{"type":"StasisStart","timestamp":"t","channel":{"id":"c1"},"asterisk_id":"n1","application":"app"}'


def test_encode_unchanged_is_the_raw_bytes():
    event = Event.decode(RAW)
    assert event.encode() is event.raw
    assert event.encode(application="app", asterisk_id="n1") is event.raw


def test_encode_splices_dialog_without_reencoding():
    out = Event.decode(RAW).encode(dialog="d1")
    assert out == b'{"dialog":"d1",' + RAW[1:]
    again = Event.decode(out)
    assert again.dialog == "d1" and again.body["channel"] == {"id": "c1"}
    assert Event.decode(b' {"type":"X"}').encode(dialog="d") == b'{"dialog":"d","type":"X"}'


def test_encode_fills_missing_and_rewrites_wrong_envelope():
    bare = Event.decode(b'{"type":"X","channel":{"id":"c"}}')
    out = json.loads(bare.encode(application="a", asterisk_id="n"))
    assert out == {"application": "a", "asterisk_id": "n", "type": "X", "channel": {"id": "c"}}
    changed = Event.decode(RAW).encode(asterisk_id="n2", dialog="d")
    assert list(json.loads(changed))[:3] == ["application", "dialog", "asterisk_id"]
    assert json.loads(changed)["asterisk_id"] == "n2"


@pytest.mark.parametrize("bad", [
    b"not json", b"[]", b"{}", b'{"type":""}', b'{"type":5}', b'{"type":"X","application":1}',
    b'{"type":"X","asterisk_id":[]}', b'{"type":"X","dialog":{}}', b"\xff", b"[" * 50000,
])
def test_malformed_events(bad):
    with pytest.raises(ProtocolError):
        Event.decode(bad)


def test_hostile_entity_shapes_do_not_crash_keys():
    event = Event.decode('{"type":"Dial","caller":"x","peer":[1],"forwarded":{"id":5}}')
    assert event.keys() == []
    event = Event.decode('{"type":"ChannelTransfer","refer_to":"x","referred_by":{"source_channel":[]}}')
    assert event.keys() == []
    assert Event.decode('{"type":"ChannelDestroyed","channel":null}').destroys() == []
