"""Readable, checkable objects for interactive use: events as mappings with entity handles, event types
checked against the ARI spec, tab completion, help() names, ping(wait) and nodes() forgetting."""
import json
import pydoc

import pytest

import ariproxy
from ariproxy.client import Channel, Client, Playback
from ariproxy.errors import ValidationError
from ariproxy.protocol import EVENT_ENTITIES, EVENT_ENTITY_FIELDS, EVENT_TYPES, Event, Key, check_event_type
from tests.support.shared import shared_path

RAW = (b'{"type":"ChannelDestroyed","application":"demo","asterisk_id":"02:00:00:00:00:01",'
       b'"timestamp":"2024-05-01T10:00:00.000+0000","cause":16,"cause_txt":"Normal Clearing",'
       b'"channel":{"id":"c1","name":"PJSIP/alice-1","state":"Up"}}')


def test_event_is_a_read_only_mapping_of_its_fields():
    event = Event.decode(RAW)
    assert "cause" in event and "nope" not in event
    assert event["cause"] == 16 and event.get("cause_txt") == "Normal Clearing" and event.get("x", 7) == 7
    assert list(event) == event.fields() == ["type", "application", "asterisk_id", "timestamp", "cause",
                                             "cause_txt", "channel"]
    assert len(event) == 7 and dict(event.items())["cause"] == 16 and 16 in event.values()
    assert event.to_dict() == json.loads(RAW)
    with pytest.raises(TypeError):
        event["cause"] = 17
    # keys() keeps naming the entities (the routing of the server and the client uses it)
    assert event.keys() == event.entity_keys() == [Key("channel", "c1", "02:00:00:00:00:01", "", "demo")]


def test_event_repr_shows_type_entities_and_what_happened():
    text = repr(Event.decode(RAW))
    assert text.startswith("<Event ChannelDestroyed channel=c1")
    for part in ("channel_state=Up", "cause=16", "cause_txt='Normal Clearing'", "node=02:00:00:00:00:01",
                 "app=demo"):
        assert part in text


def test_event_types_are_checked_against_the_spec():
    assert check_event_type("StasisStart") == "StasisStart"
    with pytest.raises(ValidationError, match="did you mean StasisStart"):
        check_event_type("StasisStrat")
    with pytest.raises(ValidationError, match="did you mean PlaybackFinished"):
        check_event_type("playbackfinished")
    with pytest.raises(ValidationError):
        check_event_type("")


def test_generated_event_table_matches_the_spec():
    path = shared_path("ari-api-docs", "events.json")
    with open(path) as f:
        models = json.load(f)["models"]
    assert sorted(models["Event"]["subTypes"]) == list(EVENT_TYPES)
    entity_models = {"Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording", "Endpoint", "DeviceState"}
    for name in EVENT_TYPES:
        props = models[name].get("properties", {})
        assert EVENT_ENTITIES[name] == tuple((f, p["type"]) for f, p in props.items()
                                             if p.get("type") in entity_models), name
    # the routing table (hand-written) knows every type and every top-level entity field of the spec
    assert sorted(EVENT_ENTITY_FIELDS) == list(EVENT_TYPES)
    kinds = {"Channel": "channel", "Bridge": "bridge", "Playback": "playback", "LiveRecording": "liverecording",
             "Endpoint": "endpoint", "DeviceState": "devicestate", "StoredRecording": "storedrecording"}
    for name, fields in EVENT_ENTITIES.items():
        routed = {path[0]: kind for path, kind, _ in EVENT_ENTITY_FIELDS[name] if len(path) == 1}
        for field, model in fields:
            assert routed.get(field) == kinds[model], (name, field)


def test_tab_completion_and_help_read_well():
    names = dir(ariproxy)
    for name in ("Client", "NotConnected", "Timeout", "NotFound", "interactive", "Event"):
        assert name in names
    assert ariproxy.NotConnected.__module__ == "ariproxy.bus"
    text = pydoc.render_doc(Channel.answer, renderer=pydoc.plaintext)
    assert "Channel.answer" in text or "answer(self)" in text
    assert "method(self)" not in text and "sends ChannelAnswer" in text
    assert Channel.hangup.__qualname__ == "Channel.hangup"


def test_client_events_carry_entity_handles_and_unknown_types_are_refused(proxy):
    with Client(application=proxy.application, url=proxy.nats_url, timeout=3.0) as client:
        assert "channels" in dir(client) and "subscribe" in dir(client)
        with pytest.raises(ValidationError, match="did you mean StasisStart"):
            client.subscribe("StasisStrat")
        with pytest.raises(ValidationError):
            client.on("ChannelDestroy", print)
        sub = client.subscribe("NoSuchTypeYet", strict=False)   # a newer Asterisk's type: allowed on request
        sub.close()
        starts = client.subscribe("StasisStart")
        channel = client.channels.originate(endpoint="Local/1000@default")
        with pytest.raises(ValidationError, match="StasisStart"):
            channel.wait("StasisStrat", timeout=1)
        event = starts.get(timeout=10)
        assert isinstance(event.channel, Channel) and event.channel == channel.on_node(proxy.node)
        assert event.channel.key.node == proxy.node and event.channel.key.app == proxy.application
        assert event.replace_channel is None                       # an entity field the event lacks
        with pytest.raises(AttributeError, match="no entity field 'bridge'"):
            event.bridge                                            # noqa: B018
        assert "channel" in dir(event) and "replace_channel" in dir(event)
        assert event.entities == [event.channel]
        pb = event.channel.play("sound:hello-world")
        finished = pb.wait("PlaybackFinished", timeout=10)
        assert isinstance(finished.playback, Playback) and finished.playback.id == pb.id
        event.channel.hangup()                                      # the handle reaches the owning server
        channel.wait("ChannelDestroyed", timeout=10)


def test_ping_wait_waits_and_nodes_forget_servers_that_stopped(proxy_factory):
    first = proxy_factory()
    second = proxy_factory(nats=first, entity_id="02:fc:00:00:00:02")
    with Client(application=first.application, url=first.nats_url) as client:
        seen = client.ping(wait=1.0)
        assert {n.node for n in seen} == {first.node, second.node}     # waited for both answers
        second.server.stop(timeout=5)
        assert first.node in {n.node for n in client.ping(wait=0.5)}
        assert {n.node for n in client.nodes()} == {first.node}         # the stopped one is forgotten
