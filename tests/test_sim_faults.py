"""Fault controls of the simulator (Python API and /_sim/ HTTP endpoints) and websocket edge cases."""
import socket
import time

import gevent
import pytest
import requests
import websocket

from tests.support.wait import wait_for

AUTH = ("asterisk", "asterisk")


def _can_connect(sim):
    try:
        socket.create_connection((sim.host, sim.port), timeout=1).close()
        return True
    except OSError:
        return False


def test_drop_websockets(sim, sim_events):
    ev = sim_events(sim, "test")
    assert sim.drop_websockets() == 1
    assert ev.closed.wait(5)
    wait_for(lambda: sim.applications == {})
    again = sim_events(sim, "test")
    requests.post(sim.url + "/events/user/X", params={"application": "test"}, auth=AUTH)
    again.wait_for("ChannelUserevent")


def test_drop_over_http(sim, sim_events):
    ev = sim_events(sim, "test")
    assert requests.post(sim.base_url + "/_sim/drop").json() == {"ok": True, "dropped": 1}
    assert ev.closed.wait(5)


def test_refuse_connections_then_accept_again(sim, sim_events):
    ev = sim_events(sim, "test")
    port = sim.port
    sim.refuse_connections()                # until told: the refusal cannot end before we look
    assert ev.closed.wait(5)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((sim.host, sim.port), timeout=1)
    sim.accept_connections()
    assert sim.port == port and _can_connect(sim)
    assert requests.get(sim.url + "/asterisk/ping", auth=AUTH).status_code == 200
    sim.accept_connections()                # already listening: nothing happens
    # for some seconds: listens again by itself
    sim.refuse_connections(0.05)
    wait_for(lambda: sim._reopen is None and _can_connect(sim), timeout=5)
    assert sim.port == port
    assert requests.get(sim.url + "/asterisk/ping", auth=AUTH).status_code == 200


def test_restart_with_new_entity_id(sim, sim_events):
    ev = sim_events(sim, "test")
    requests.post(sim.url + "/channels", params={"endpoint": "Local/1000@default", "app": "test"}, auth=AUTH)
    ev.wait_for("StasisStart")
    sim.restart(entity_id="02:fc:00:00:00:99")
    assert ev.closed.wait(5)
    info = requests.get(sim.url + "/asterisk/info", auth=AUTH).json()
    assert info["system"]["entity_id"] == "02:fc:00:00:00:99"
    assert requests.get(sim.url + "/channels", auth=AUTH).json() == []
    r = requests.post(sim.base_url + "/_sim/restart", params={"entity_id": "02:fc:00:00:00:42"})
    assert r.json()["entity_id"] == "02:fc:00:00:00:42"
    assert requests.get(sim.url + "/asterisk/ping", auth=AUTH).json()["asterisk_id"] == "02:fc:00:00:00:42"


def test_fail_next_requests(sim, sim_events):
    sim.fail_next(2)
    assert [requests.get(sim.url + "/asterisk/ping", auth=AUTH).status_code for _ in range(3)] == [500, 500, 200]
    requests.post(sim.base_url + "/_sim/fail", params={"n": "1"})
    ev = sim_events(sim, "test")
    ev.send({"type": "RESTRequest", "request_id": "1", "method": "GET", "uri": "asterisk/ping"})
    assert ev.wait_for("RESTResponse")["status_code"] == 500


def test_delay_every_response(sim):
    sim.set_delay(100)
    started = time.monotonic()
    assert requests.get(sim.url + "/asterisk/ping", auth=AUTH).status_code == 200
    assert time.monotonic() - started >= 0.1
    requests.post(sim.base_url + "/_sim/delay", params={"ms": "0"})
    assert sim._delay == 0


def test_lowering_the_delay_releases_waiting_answers(sim):
    sim.set_delay(60000)
    held = gevent.spawn(requests.get, sim.url + "/asterisk/ping", auth=AUTH)
    wait_for(lambda: any(r["path"] == "/asterisk/ping" for r in sim.requests), timeout=5)
    held.join(timeout=0.1)                      # bounded look: the answer must not come
    assert not held.ready()
    sim.set_delay(0)
    assert held.get(timeout=5).status_code == 200


def test_burst(sim, sim_events):
    ev = sim_events(sim, "test")
    other = sim_events(sim, "other")
    assert sim.burst(500, app="test") == 500
    wait_for(lambda: len(ev.events) == 500)
    assert [int(e["userevent"]["seq"]) for e in ev.events] == list(range(500))
    assert other.events == []
    assert requests.post(sim.base_url + "/_sim/burst", params={"n": "10"}).json()["sent"] == 20
    wait_for(lambda: len(other.events) == 10)


def test_websocket_auth_and_app_errors(sim):
    with pytest.raises(websocket.WebSocketBadStatusException) as bad:
        websocket.create_connection(sim.ws_url + "?app=test&api_key=asterisk:wrong")
    assert bad.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as no_app:
        websocket.create_connection(sim.ws_url + "?api_key=asterisk:asterisk")
    assert no_app.value.status_code == 400
    r = requests.get(sim.url + "/events", params={"app": "x"}, auth=AUTH)
    assert r.status_code == 426


def test_second_socket_replaces_the_first(sim, sim_events):
    first = sim_events(sim, "test")
    second = sim_events(sim, "test")
    first.wait_for("ApplicationReplaced")
    requests.post(sim.url + "/events/user/X", params={"application": "test"}, auth=AUTH)
    second.wait_for("ChannelUserevent")
    assert first.types() == ["ApplicationReplaced"]


def test_http_errors_like_asterisk(sim):
    r = requests.get(sim.url + "/channels/", auth=AUTH)
    assert (r.status_code, r.json()) == (404, {"message": "ARI URLs do not end with a slash. Try /ari/channels"})
    r = requests.put(sim.url + "/channels", auth=AUTH)
    assert (r.status_code, r.headers["Allow"]) == (405, "OPTIONS,GET,POST")
    assert requests.get(sim.url + "/nosuch", auth=AUTH).json() == {"message": "Resource not found"}
    r = requests.post(sim.url + "/channels", params={"endpoint": "Bogus/x", "app": "a"}, auth=AUTH)
    assert (r.status_code, r.json()) == (500, {"error": "Allocation failed"})
    r = requests.post(sim.url + "/channels", params={"endpoint": "Local/1@d", "app": "a"}, data="{bad",
                      headers={"Content-Type": "application/json"}, auth=AUTH)
    assert (r.status_code, r.json()) == (400, {"message": "Error parsing request body"})
    r = requests.post(sim.url + "/channels/nope/play", params={"media": "sound:x"}, auth=AUTH)
    assert (r.status_code, r.json()) == (404, {"message": "Channel not found"})


def test_endpoint_events_and_injected_events(sim_factory, sim_events):
    sim = sim_factory(endpoints=[("PJSIP", "alice")])
    ev = sim_events(sim, "test")
    r = requests.post(sim.url + "/applications/test/subscription", params={"eventSource": "endpoint:PJSIP/alice"},
                      auth=AUTH)
    assert r.json()["endpoint_ids"] == ["PJSIP/alice"]
    sim.set_endpoint_state("PJSIP", "alice", "offline")
    change = ev.wait_for("EndpointStateChange")
    assert change["endpoint"] == {"technology": "PJSIP", "resource": "alice", "state": "offline", "channel_ids": []}
    assert requests.get(sim.url + "/endpoints/PJSIP/alice", auth=AUTH).json()["state"] == "offline"
    sim.receive_text_message("PJSIP", "alice", "sip:bob@x", "hello", {"X-Key": "v"})
    text = ev.wait_for("TextMessageReceived")
    assert text["message"] == {"from": "sip:bob@x", "to": "pjsip:alice", "body": "hello", "variables": {"X-Key": "v"}}
    sim.emit_event("ChannelToneDetected", {"channel": {"id": "x"}}, app="test")
    assert ev.wait_for("ChannelToneDetected")["application"] == "test"


def test_an_app_whose_socket_closed_keeps_its_channels_and_gets_them_back(sim, sim_events):
    # as Asterisk deactivates an app whose websocket closed: its channels stay in Stasis and it keeps
    # its subscriptions while it has some; events meanwhile go nowhere; a new websocket for the app
    # reactivates it, subscriptions included (no StasisStart again)
    ev = sim_events(sim, "test")
    chan = requests.post(sim.url + "/channels", params={"endpoint": "Local/1000@default", "app": "test"},
                         auth=AUTH).json()
    ev.wait_for("StasisStart")
    assert sim.drop_websockets() == 1
    assert ev.closed.wait(5)
    assert chan["id"] in sim.applications["test"]["channel_ids"]     # deactivated, not gone
    requests.post(sim.url + "/channels/%s/answer" % chan["id"], auth=AUTH)   # its events go nowhere
    # a new call for the deactivated app fails: Stasis() needs an active app
    other = requests.post(sim.url + "/channels", params={"endpoint": "Local/1000@default", "app": "test"},
                          auth=AUTH).json()
    wait_for(lambda: other["id"] not in sim.channels, 10)
    again = sim_events(sim, "test")
    requests.post(sim.url + "/channels/%s/dtmf" % chan["id"], params={"dtmf": "5"}, auth=AUTH)
    dtmf = again.wait_for("ChannelDtmfReceived")
    assert dtmf["channel"]["id"] == chan["id"]
    assert "StasisStart" not in again.types() and "ChannelStateChange" not in again.types()
    # hung up: the app is active again, so it stays; without a socket and channels it is forgotten
    requests.delete(sim.url + "/channels/" + chan["id"], auth=AUTH)
    again.wait_for("ChannelDestroyed")
    assert sim.drop_websockets() == 1
    wait_for(lambda: "test" not in sim.applications, 5)
