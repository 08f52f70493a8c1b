"""Hostile input from Asterisk's side, property based (hypothesis): a real server and a real client
behind a simulator that misbehaves.

- as events: arbitrary JSON, event-shaped objects with wrong types in every field, text that is not
  JSON, bytes that are not UTF-8, all sent as text frames on the events websocket: the server never
  stops serving, every later event still reaches a client's subscription, in order;
- as REST answers: any status with any body (JSON of the wrong shape, text, bytes, nothing) and any
  content type, over HTTP and over the websocket: a client request gets a value or an
  ``ariproxy.errors`` exception (never anything else, never a hang), and the next request works.

Small runs (a few dozen examples each, no deadline) so the file stays fast on a loaded machine.
"""
import pytest
from hypothesis import given, strategies as st

from ariproxy import errors
from ariproxy.client import Client
from ariproxy.jsonutil import dumps
from ariproxy.protocol import Key
from tests.support.hostile import encodable, json_values, small_runs
from tests.support.proxy import make_proxy
from tests.support.wait import wait_for

SETTINGS = small_runs(50)

event_fields = st.sampled_from(["type", "application", "asterisk_id", "timestamp", "channel", "bridge",
                                "playback", "recording", "endpoint", "peer", "replace_channel", "args",
                                "digit", "cause", "userevent", "eventname"])
entity_like = st.fixed_dictionaries({}, optional={"id": json_values, "name": json_values,
                                                  "state": json_values, "channels": json_values})



@st.composite
def event_like(draw):
    """Objects shaped like ARI events, with wrong types (or wrong entities) in their fields."""
    obj = {"type": draw(st.sampled_from(["StasisStart", "ChannelDestroyed", "PlaybackFinished", "BridgeDestroyed",
                                         "ChannelUserevent", "NoSuchEvent", ""]) | json_values)}
    for field in draw(st.lists(event_fields, max_size=5, unique=True)):
        obj[field] = draw(entity_like | json_values)
    return obj


frames = (json_values.map(lambda v: dumps(v) if encodable(v) else b"null")
          | event_like().map(lambda v: dumps(v) if encodable(v) else b"{}")
          | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
          | st.binary(max_size=300))


@pytest.fixture(scope="module")
def events_side():
    p = make_proxy(application="hostileev")
    client = Client(application=p.application, url=p.nats_url, timeout=5.0)
    sub = client.subscribe("ChannelUserevent")
    state = {"seq": 0}
    yield p, client, sub, state
    sub.close()
    client.close()
    p.close()


def _sentinel_arrives(p, sub, state):
    """Send a well-formed event after the hostile frame; it (and no other sentinel) must come next."""
    state["seq"] += 1
    seq = str(state["seq"])
    got = []

    def arrived():
        app = p.sim.asterisk.apps.get(p.application)
        if app is None or app.socket is None or not p.server.ari_connected:
            return False   # the server is reconnecting: send once it is back
        if not got or got[0] == "sent":
            if not got:
                got.append("sent")
                p.sim.emit_event("ChannelUserevent", {"eventname": "sentinel", "userevent": {"seq": seq}},
                                 app=p.application)
        for event in sub.drain():
            if event.type == "ChannelUserevent" and (event.body.get("userevent") or {}).get("seq") == seq:
                got.append(seq)
            elif event.type == "AriProxyEventGap":
                got[:] = []      # the websocket broke on the frame: send the sentinel again
        return seq in got

    wait_for(arrived, 20, message="event after the hostile frame did not arrive")


@SETTINGS
@given(frame=frames)
def test_arbitrary_event_frames_do_not_stop_the_event_path(events_side, frame):
    p, _client, sub, state = events_side
    p.sim.send_raw(frame, app=p.application)
    _sentinel_arrives(p, sub, state)


def test_server_serves_after_hostile_events(events_side):
    p, client, _sub, _state = events_side
    p.ok("AsteriskInfo")
    stats = p.server.stats
    assert p.server.state == "serving" and stats["bus"]["reconnects"] == 0
    assert stats["ari_disconnects"] == 0      # no frame broke the websocket: skipped, logged, counted
    assert stats["ari_bad_frames"] > 0
    assert client.asterisk.info()


# -- REST answers ----------------------------------------------------------------------------------

statuses = st.sampled_from([200, 201, 204, 299, 301, 304, 400, 401, 403, 404, 409, 418, 422, 500, 501, 502,
                            503, 599])
bodies = (st.none() | st.binary(max_size=300)
          | json_values.map(lambda v: dumps(v) if encodable(v) else b"null")
          | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")))
content_types = st.sampled_from(["application/json", "text/plain", "text/html", "", "application/octet-stream"])


@pytest.fixture(scope="module", params=["http", "websocket"])
def rest_side(request):
    p = make_proxy(application="hostilerest-%s" % request.param, rest_transport=request.param)
    client = Client(application=p.application, url=p.nats_url, timeout=5.0, retries=0)
    channel = client.channels.originate(endpoint="Local/1000@default")
    yield p, client, channel
    client.close()
    p.close()


def _calls(client, p, channel):
    key = Key(node=p.node, app=p.application)
    return [lambda: client.asterisk.info(), lambda: client.request("ChannelList", key),
            lambda: channel.data(), lambda: channel.set_variable("X", "1"),
            lambda: client.request("BridgeCreate", Key("bridge", "hb", p.node, "", p.application),
                                   payload_field="bridge_create", payload={"type": "mixing"})]


@SETTINGS
@given(status=statuses, body=bodies, ctype=content_types, which=st.integers(0, 4))
def test_arbitrary_rest_answers_give_a_value_or_a_clean_error(rest_side, status, body, ctype, which):
    p, client, channel = rest_side
    p.sim.answer_next(status, body, ctype)
    try:
        _calls(client, p, channel)[which]()
    except errors.AriProxyError:
        pass      # ARIError, NotFound, ProtocolError...: all clean
    assert channel.data()["id"] == channel.id       # the next request gets a real answer


def test_server_serves_after_hostile_answers(rest_side):
    p, client, channel = rest_side
    assert client.asterisk.info() and channel.data()["id"] == channel.id
    assert p.server.state == "serving" and p.server.stats["bus"]["reconnects"] == 0
