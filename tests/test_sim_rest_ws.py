"""REST over the events websocket (RESTRequest -> RESTResponse), as a real Asterisk 22 answers it."""
import json
import os

import requests

from ariproxy import jsonutil
from tests.support.shared import shared_path
from tests.support.wait import wait_for

AUTH = ("asterisk", "asterisk")


def _responses(collector):
    return [e for e in collector.events if e["type"] == "RESTResponse"]


def test_replay_recorded_rest_requests(sim, sim_events):
    """Every RESTRequest the recording sent gets the recorded status, reason, uri and error body."""
    with open(os.path.join(shared_path("fixtures", "asterisk"), "transcript.json")) as f:
        transcript = json.load(f)
    sends = [e for e in transcript if e["kind"] == "ws_send"]
    answers = [e["event"] for e in transcript if e["kind"] == "ws_event" and e["event"]["type"] == "RESTResponse"]
    assert len(sends) == len(answers) == 18
    sim.asterisk.global_vars.update({"ARI_TEST_GLOBAL": "hello-global", "ARI_SET_GLOBAL": "set via ari"})
    sockets = {"test": sim_events(sim, "test"), "junk": sim_events(sim, "junkapp")}
    for send, expected in zip(sends, answers):
        ws = sockets[send["ws"]]
        before = len(_responses(ws))
        ws.ws.send(send["raw"])
        wait_for(lambda: len(_responses(ws)) > before, message="no answer to %s" % send["label"])
        got = _responses(ws)[before]
        for key in ("transaction_id", "request_id", "status_code", "reason_phrase", "uri", "application"):
            want = expected[key] if key != "application" else ("junkapp" if send["ws"] == "junk" else "test")
            assert got[key] == want, (send["label"], key, got)
        assert ("content_type" in got) == ("content_type" in expected), send["label"]
        assert ("message_body" in got) == ("message_body" in expected), send["label"]
        if "message_body" in expected:
            want_body = jsonutil.loads(expected["message_body"])
            got_body = jsonutil.loads(got["message_body"])
            if expected["status_code"] >= 400 or send["label"].startswith("query"):
                assert got_body == want_body, send["label"]
            elif isinstance(want_body, dict):
                # (the real api-docs also carry copyright/author keys, which the simulator leaves out)
                assert {k for k in want_body if not k.startswith("_")} - set(got_body) == set(), send["label"]
            else:
                assert isinstance(got_body, list), send["label"]
        if send["label"].startswith("originate"):
            sockets["test"].wait_for("StasisStart", pred=lambda e: e["channel"]["id"] == "ws-orig-1")
    assert sim.global_vars["WS_FORM_VAR"] == "from form"
    assert [r["via"] for r in sim.requests].count("ws") == 10


def test_many_requests_in_flight_are_all_answered(sim, sim_events):
    ev = sim_events(sim, "test")
    sim.set_delay(20)
    for i in range(100):
        ev.send({"type": "RESTRequest", "request_id": "r%d" % i, "method": "GET", "uri": "asterisk/ping"})
    wait_for(lambda: len(_responses(ev)) == 100, timeout=10)
    assert sorted(r["request_id"] for r in _responses(ev)) == sorted("r%d" % i for i in range(100))


def test_binary_body_and_json_body_over_websocket(sim, sim_events):
    ev = sim_events(sim, "test")
    ev.send({"type": "RESTRequest", "request_id": "o", "method": "POST", "uri": "channels",
             "query_strings": [{"name": "endpoint", "value": "Local/1000@default"}, {"name": "app", "value": "test"},
                               {"name": "channelId", "value": "j1"}],
             "content_type": "application/json", "message_body": '{"variables": {"X": "1"}}'})
    answer = ev.wait_for("RESTResponse")
    assert answer["status_code"] == 200 and jsonutil.loads(answer["message_body"])["id"] == "j1"
    varset = ev.wait_for("ChannelVarset", pred=lambda e: e["variable"] == "X")
    assert varset["value"] == "1"


def test_old_asterisk_ignores_rest_requests(sim_factory, sim_events):
    old = sim_factory(version="22.3.0")
    assert requests.get(old.url + "/asterisk/info", auth=AUTH).json()["system"]["version"] == "22.3.0"
    ev = sim_events(old, "test")
    ev.send({"type": "RESTRequest", "request_id": "1", "method": "GET", "uri": "asterisk/ping"})
    wait_for(lambda: old.ws_messages_received == 1)
    requests.post(old.url + "/events/user/After", params={"application": "test"}, auth=AUTH)
    ev.wait_for("ChannelUserevent")
    assert ev.types() == ["ChannelUserevent"]


def test_version_gate():
    from ariproxy.sim import supports_rest_over_ws
    assert [supports_rest_over_ws(v) for v in ("20.14.0", "21.9.0", "22.4.0", "23.0.0", "22.10.1")] == [True] * 5
    assert [supports_rest_over_ws(v) for v in ("20.13.2", "21.8.0", "22.3.0", "18.20.0", "junk")] == [False] * 5


def test_hostile_messages_get_answers_and_the_socket_survives(sim, sim_events):
    ev = sim_events(sim, "test")
    ev.ws.send_binary(b"\x00\xff binary")
    for message in ({"type": "RESTRequest", "request_id": "a", "method": "GET", "uri": 5},
                    {"type": "RESTRequest", "request_id": "b", "method": ["GET"], "uri": "asterisk/ping"},
                    {"type": "RESTRequest", "request_id": "c", "method": "POST", "uri": "asterisk/variable",
                     "content_type": 7, "message_body": {"variable": "X"}},
                    {"type": "RESTRequest", "request_id": "d", "method": "GET", "uri": "asterisk/ping",
                     "query_strings": "not a list"},
                    {"type": "RESTRequest", "request_id": "e", "method": "GET", "uri": "channels/%ZZ/x?%%%"}):
        ev.send(message)
    ev.ws.send("x" * 100000)
    wait_for(lambda: len(_responses(ev)) == 6)
    statuses = {r["request_id"]: r["status_code"] for r in _responses(ev)}
    assert statuses["a"] == 400 and statuses["b"] == 400 and statuses["d"] == 200 and statuses["e"] == 404
    assert statuses[""] == 400
    ev.send({"type": "RESTRequest", "request_id": "ok", "method": "GET", "uri": "asterisk/ping"})
    assert ev.wait_for("RESTResponse", pred=lambda e: e["request_id"] == "ok")["status_code"] == 200


def test_hostile_http_requests(sim):
    r = requests.post(sim.url + "/channels", data=b"\xff\xfe{", headers={"Content-Type": "application/json"},
                      auth=AUTH)
    assert r.status_code == 400
    r = requests.get(sim.url + "/channels/" + "x" * 5000, auth=AUTH)
    assert r.status_code == 404
    r = requests.post(sim.url + "/channels", params={"endpoint": "Local/1@x", "app": "a", "timeout": "nan"},
                      json={"variables": ["not", "a", "dict"]}, auth=AUTH)
    assert (r.status_code, r.json()) == (400, {"message": "Error parsing request body"})
    assert requests.get(sim.url + "/asterisk/ping", auth=AUTH).status_code == 200
