"""The simulator against ARI's own spec (needs ../shared/ari-api-docs).

Walks every operation of the spec (all but the events websocket) in an order
that lets each succeed, checks each answer is a success whose body fits the
operation's response model, and validates every event the run produced
against its event model.  The validator itself is checked against the bodies
a real Asterisk answered (../shared/fixtures/asterisk/).
"""
import json
import os

import pytest
import requests

from ariproxy import jsonutil
from tests.support.shared import shared_path
from tests.support.swagger import Models
from tests.support.wait import wait_for

AUTH = ("asterisk", "asterisk")

# (method, path template, path values, query, JSON body); run in this order.
PLAN = [
    ("GET", "/asterisk/info", {}, {}, None),
    ("GET", "/asterisk/ping", {}, {}, None),
    ("GET", "/asterisk/modules", {}, {}, None),
    ("GET", "/asterisk/modules/{moduleName}", {"moduleName": "res_ari.so"}, {}, None),
    ("DELETE", "/asterisk/modules/{moduleName}", {"moduleName": "app_echo.so"}, {}, None),
    ("POST", "/asterisk/modules/{moduleName}", {"moduleName": "app_echo.so"}, {}, None),
    ("PUT", "/asterisk/modules/{moduleName}", {"moduleName": "res_musiconhold.so"}, {}, None),
    ("POST", "/asterisk/logging/{logChannelName}", {"logChannelName": "conf-log"}, {"configuration": "notice,warning"}, None),
    ("GET", "/asterisk/logging", {}, {}, None),
    ("PUT", "/asterisk/logging/{logChannelName}/rotate", {"logChannelName": "conf-log"}, {}, None),
    ("DELETE", "/asterisk/logging/{logChannelName}", {"logChannelName": "conf-log"}, {}, None),
    ("POST", "/asterisk/variable", {}, {"variable": "G", "value": "1"}, None),
    ("GET", "/asterisk/variable", {}, {"variable": "G"}, None),
    ("PUT", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
     {"configClass": "res_pjsip", "objectType": "endpoint", "id": "ep1"}, {},
     {"fields": [{"attribute": "allow", "value": "ulaw"}]}),
    ("GET", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
     {"configClass": "res_pjsip", "objectType": "endpoint", "id": "ep1"}, {}, None),
    ("DELETE", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
     {"configClass": "res_pjsip", "objectType": "endpoint", "id": "ep1"}, {}, None),
    ("GET", "/applications", {}, {}, None),
    ("GET", "/applications/{applicationName}", {"applicationName": "conf"}, {}, None),
    ("POST", "/applications/{applicationName}/subscription", {"applicationName": "conf"},
     {"eventSource": "deviceState:Stasis:conf"}, None),
    ("DELETE", "/applications/{applicationName}/subscription", {"applicationName": "conf"},
     {"eventSource": "deviceState:Stasis:conf"}, None),
    ("PUT", "/applications/{applicationName}/eventFilter", {"applicationName": "conf"}, {}, {"disallowed": []}),
    ("GET", "/sounds", {}, {"lang": "en"}, None),
    ("GET", "/sounds/{soundId}", {"soundId": "hello-world"}, {}, None),
    ("GET", "/endpoints", {}, {}, None),
    ("GET", "/endpoints/{tech}", {"tech": "PJSIP"}, {}, None),
    ("GET", "/endpoints/{tech}/{resource}", {"tech": "PJSIP", "resource": "alice"}, {}, None),
    ("PUT", "/endpoints/sendMessage", {}, {"to": "pjsip:alice", "from": "bob", "body": "hi"}, None),
    ("POST", "/endpoints/refer", {}, {"to": "pjsip:alice", "from": "bob", "refer_to": "sip:carol@x"}, None),
    ("PUT", "/endpoints/{tech}/{resource}/sendMessage", {"tech": "PJSIP", "resource": "alice"}, {"from": "bob"}, None),
    ("POST", "/endpoints/{tech}/{resource}/refer", {"tech": "PJSIP", "resource": "alice"},
     {"from": "bob", "refer_to": "sip:carol@x"}, None),
    ("PUT", "/deviceStates/{deviceName}", {"deviceName": "Stasis:conf"}, {"deviceState": "BUSY"}, None),
    ("GET", "/deviceStates", {}, {}, None),
    ("GET", "/deviceStates/{deviceName}", {"deviceName": "Stasis:conf"}, {}, None),
    ("DELETE", "/deviceStates/{deviceName}", {"deviceName": "Stasis:conf"}, {}, None),
    ("PUT", "/mailboxes/{mailboxName}", {"mailboxName": "1000@conf"}, {"oldMessages": "1", "newMessages": "2"}, None),
    ("GET", "/mailboxes", {}, {}, None),
    ("GET", "/mailboxes/{mailboxName}", {"mailboxName": "1000@conf"}, {}, None),
    ("DELETE", "/mailboxes/{mailboxName}", {"mailboxName": "1000@conf"}, {}, None),
    # channels
    ("POST", "/channels", {}, {"endpoint": "Local/1000@default", "app": "conf", "channelId": "c1",
                               "otherChannelId": "c1-2", "appArgs": "x", "callerId": "Conf <100>"},
     {"variables": {"V": "1"}}),
    ("POST", "/channels/{channelId}", {"channelId": "c3"}, {"endpoint": "PJSIP/alice", "app": "conf"}, None),
    ("POST", "/channels/create", {}, {"endpoint": "Local/2000@default", "app": "conf", "channelId": "c2"}, None),
    ("POST", "/channels/{channelId}/dial", {"channelId": "c2"}, {"timeout": "5"}, None),
    ("GET", "/channels", {}, {}, None),
    ("GET", "/channels/{channelId}", {"channelId": "c1"}, {}, None),
    ("POST", "/channels/{channelId}/answer", {"channelId": "c1"}, {}, None),
    ("POST", "/channels/{channelId}/ring", {"channelId": "c1"}, {}, None),
    ("DELETE", "/channels/{channelId}/ring", {"channelId": "c1"}, {}, None),
    ("POST", "/channels/{channelId}/progress", {"channelId": "c1"}, {}, None),
    ("POST", "/channels/{channelId}/dtmf", {"channelId": "c1"}, {"dtmf": "12", "between": "10", "duration": "10"}, None),
    ("POST", "/channels/{channelId}/mute", {"channelId": "c1"}, {"direction": "in"}, None),
    ("DELETE", "/channels/{channelId}/mute", {"channelId": "c1"}, {}, None),
    ("POST", "/channels/{channelId}/hold", {"channelId": "c3"}, {}, None),
    ("DELETE", "/channels/{channelId}/hold", {"channelId": "c3"}, {}, None),
    ("POST", "/channels/{channelId}/moh", {"channelId": "c1"}, {"mohClass": "default"}, None),
    ("DELETE", "/channels/{channelId}/moh", {"channelId": "c1"}, {}, None),
    ("POST", "/channels/{channelId}/silence", {"channelId": "c1"}, {}, None),
    ("DELETE", "/channels/{channelId}/silence", {"channelId": "c1"}, {}, None),
    ("POST", "/channels/{channelId}/variable", {"channelId": "c1"}, {"variable": "A", "value": "b"}, None),
    ("GET", "/channels/{channelId}/variable", {"channelId": "c1"}, {"variable": "A"}, None),
    ("POST", "/channels/{channelId}/variables", {"channelId": "c1"}, {}, {"variables": {"B": "c"}}),
    ("GET", "/channels/{channelId}/variables", {"channelId": "c1"}, {"variables": "A,B"}, None),
    ("POST", "/channels/{channelId}/transfer_progress", {"channelId": "c1"}, {"states": "channel_progress"}, None),
    ("GET", "/channels/{channelId}/rtp_statistics", {"channelId": "c3"}, {}, None),
    ("POST", "/channels/{channelId}/variable", {"channelId": "c1"}, {"variable": "TALK_DETECT(set)", "value": ""},
     None),
    ("POST", "/channels/{channelId}/play", {"channelId": "c1"}, {"media": "sound:beep,sound:digits/2"}, None),
    ("POST", "/channels/{channelId}/play/{playbackId}", {"channelId": "c1", "playbackId": "pb1"},
     {"media": "tone:ring"}, None),
    ("GET", "/playbacks/{playbackId}", {"playbackId": "pb1"}, {}, None),
    ("POST", "/playbacks/{playbackId}/control", {"playbackId": "pb1"}, {"operation": "pause"}, None),
    ("DELETE", "/playbacks/{playbackId}", {"playbackId": "pb1"}, {}, None),
    ("POST", "/channels/{channelId}/record", {"channelId": "c1"}, {"name": "lr1", "format": "wav"}, None),
    ("GET", "/recordings/live/{recordingName}", {"recordingName": "lr1"}, {}, None),
    ("POST", "/recordings/live/{recordingName}/pause", {"recordingName": "lr1"}, {}, None),
    ("DELETE", "/recordings/live/{recordingName}/pause", {"recordingName": "lr1"}, {}, None),
    ("POST", "/recordings/live/{recordingName}/mute", {"recordingName": "lr1"}, {}, None),
    ("DELETE", "/recordings/live/{recordingName}/mute", {"recordingName": "lr1"}, {}, None),
    ("POST", "/recordings/live/{recordingName}/stop", {"recordingName": "lr1"}, {}, None),
    ("GET", "/recordings/stored", {}, {}, None),
    ("GET", "/recordings/stored/{recordingName}", {"recordingName": "lr1"}, {}, None),
    ("GET", "/recordings/stored/{recordingName}/file", {"recordingName": "lr1"}, {}, None),
    ("POST", "/recordings/stored/{recordingName}/copy", {"recordingName": "lr1"},
     {"destinationRecordingName": "lr1-copy"}, None),
    ("DELETE", "/recordings/stored/{recordingName}", {"recordingName": "lr1-copy"}, {}, None),
    ("POST", "/channels/{channelId}/record", {"channelId": "c1"}, {"name": "lr2", "format": "wav"}, None),
    ("DELETE", "/recordings/live/{recordingName}", {"recordingName": "lr2"}, {}, None),
    ("POST", "/channels/{channelId}/snoop", {"channelId": "c1"}, {"app": "conf", "spy": "both"}, None),
    ("POST", "/channels/{channelId}/snoop/{snoopId}", {"channelId": "c1", "snoopId": "s2"},
     {"app": "conf", "whisper": "out"}, None),
    ("POST", "/channels/externalMedia", {}, {"app": "conf", "external_host": "127.0.0.1:40000", "format": "ulaw",
                                             "channelId": "em1"}, None),
    ("POST", "/events/user/{eventName}", {"eventName": "ConfEvent"}, {"application": "conf", "source": "channel:c1"},
     {"variables": {"k": "v"}}),
    # bridges
    ("POST", "/bridges", {}, {"type": "mixing", "bridgeId": "b1", "name": "one"}, None),
    ("POST", "/bridges/{bridgeId}", {"bridgeId": "b2"}, {"type": "holding"}, None),
    ("GET", "/bridges", {}, {}, None),
    ("GET", "/bridges/{bridgeId}", {"bridgeId": "b1"}, {}, None),
    ("POST", "/bridges/{bridgeId}/addChannel", {"bridgeId": "b1"}, {"channel": "c1,c2"}, None),
    ("POST", "/bridges/{bridgeId}/videoSource/{channelId}", {"bridgeId": "b1", "channelId": "c2"}, {}, None),
    ("DELETE", "/bridges/{bridgeId}/videoSource", {"bridgeId": "b1"}, {}, None),
    ("POST", "/bridges/{bridgeId}/moh", {"bridgeId": "b1"}, {}, None),
    ("DELETE", "/bridges/{bridgeId}/moh", {"bridgeId": "b1"}, {}, None),
    ("POST", "/bridges/{bridgeId}/variable", {"bridgeId": "b1"}, {"variable": "BV", "value": "1"}, None),
    ("GET", "/bridges/{bridgeId}/variable", {"bridgeId": "b1"}, {"variable": "BV"}, None),
    ("POST", "/bridges/{bridgeId}/variables", {"bridgeId": "b1"}, {}, {"variables": {"BW": "2"}}),
    ("GET", "/bridges/{bridgeId}/variables", {"bridgeId": "b1"}, {"variables": "BV,BW"}, None),
    ("POST", "/bridges/{bridgeId}/play", {"bridgeId": "b1"}, {"media": "sound:beep"}, None),
    ("POST", "/bridges/{bridgeId}/play/{playbackId}", {"bridgeId": "b1", "playbackId": "pb-b"},
     {"media": "sound:beep"}, None),
    ("POST", "/bridges/{bridgeId}/record", {"bridgeId": "b1"}, {"name": "br1", "format": "wav",
                                                                "maxDurationSeconds": "1"}, None),
    ("POST", "/bridges/{bridgeId}/removeChannel", {"bridgeId": "b1"}, {"channel": "c2"}, None),
    ("DELETE", "/bridges/{bridgeId}", {"bridgeId": "b2"}, {}, None),
    ("DELETE", "/bridges/{bridgeId}", {"bridgeId": "b1"}, {}, None),
    # leaving Stasis
    ("POST", "/channels/{channelId}/move", {"channelId": "c2"}, {"app": "nosuchapp"}, None),
    ("POST", "/channels/{channelId}/move", {"channelId": "c2"}, {"app": "conf2"}, None),
    ("POST", "/channels/{channelId}/continue", {"channelId": "c2"}, {}, None),
    ("POST", "/channels/{channelId}/redirect", {"channelId": "c3"}, {"endpoint": "PJSIP/bob"}, None),
    ("DELETE", "/channels/{channelId}", {"channelId": "c1"}, {"reason": "normal"}, None),
    ("POST", "/events/claim", {}, {"channelId": "bc-1;2", "application": "conf"}, None),
]


def _resp_class(models, method, template):
    for _resource, path, op in models.operations:
        if path == template and op["httpMethod"] == method:
            return op.get("responseClass")
    raise AssertionError("%s %s is not in the spec" % (method, template))


@pytest.fixture(scope="module")
def models():
    return Models(shared_path("ari-api-docs"))


def test_plan_covers_every_operation(models):
    spec_ops = {(op["httpMethod"], path) for _r, path, op in models.operations if path != "/events"}
    planned = {(m, p) for m, p, *_ in PLAN}
    assert spec_ops - planned == set()
    assert planned - spec_ops == set()
    assert len(spec_ops) == 108  # + the events websocket = the spec's 109 operations


def test_validator_accepts_real_asterisk_bodies_and_rejects_bad_ones(models):
    fixtures = shared_path("fixtures", "asterisk")
    with open(os.path.join(fixtures, "transcript.json")) as f:
        transcript = json.load(f)
    from ariproxy.sim.server import match_route
    checked = 0
    for entry in transcript:
        if entry["kind"] == "rest_response" and 200 <= entry["status"] < 300 and entry.get("body") not in (None, ""):
            path = entry["path"][4:]
            methods, _ = match_route(path)
            if not methods or entry["method"] not in methods:
                continue
            r = methods[entry["method"]]
            if r.template == "/recordings/stored/{recordingName}/file":
                continue
            assert models.validate(entry["body"], _resp_class(models, entry["method"], r.template)) == []
            checked += 1
        elif entry["kind"] == "ws_event":
            assert models.validate(entry["event"], entry["event"]["type"]) == [], entry["event"]["type"]
            checked += 1
    assert checked > 300
    bad_channel = {"id": 5, "name": "x", "state": "Up"}
    problems = models.validate(bad_channel, "Channel")
    assert any(p.startswith("$.id: expected string") for p in problems) and any("missing required" in p for p in problems)
    assert models.validate({"type": "StasisStart", "timestamp": "yesterday", "application": "a",
                            "args": [], "channel": {}}, "StasisStart")


def test_every_operation_answers_with_a_valid_body(sim_factory, sim_events, models):
    sim = sim_factory(media_scale=0.01, endpoints=[("PJSIP", "alice"), ("PJSIP", "bob")])
    watcher = sim_events(sim, "conf")
    everything = sim_events(sim, "observer", subscribe_all=True)
    sim_events(sim, "conf2")
    broadcast_ready = False
    failures = []
    for method, template, values, query, body in PLAN:
        if template == "/events/claim" and not broadcast_ready:
            r = requests.post(sim.url + "/channels", params={"endpoint": "Local/600@broadcast", "extension": "1",
                                                             "channelId": "bc-1"}, auth=AUTH)
            assert r.status_code == 200
            everything.wait_for("CallBroadcast")
            broadcast_ready = True
        path = template
        for k, v in values.items():
            path = path.replace("{%s}" % k, requests.utils.quote(v, safe=""))
        kwargs = {"params": query, "auth": AUTH}
        if body is not None:
            kwargs["json"] = body
        r = requests.request(method, sim.url + path, **kwargs)
        if not 200 <= r.status_code < 300:
            failures.append("%s %s -> %d %s" % (method, template, r.status_code, r.text))
            continue
        rc = _resp_class(models, method, template)
        if rc in (None, "void"):
            assert r.content == b"", (method, template)
        elif rc == "binary":
            assert r.content[:4] == b"RIFF"
        else:
            problems = models.validate(r.json(), rc)
            if problems:
                failures.append("%s %s body: %s" % (method, template, problems))
        # let the events of this step happen before the next one depends on them
        if template in ("/channels", "/channels/{channelId}") and method == "POST":
            watcher.wait_for("StasisStart", pred=lambda e, cid=r.json()["id"]: e["channel"]["id"] == cid)
        elif template == "/channels/create":
            watcher.wait_for("StasisStart", pred=lambda e: e["channel"]["id"] == "c2")
        elif template == "/channels/{channelId}/dial":
            wait_for(lambda: sim.channels["c2"]["state"] == "Up")
        elif template == "/recordings/live/{recordingName}/stop":
            watcher.wait_for("RecordingFinished")
        elif template.endswith("/addChannel"):
            watcher.wait_for("ChannelEnteredBridge", pred=lambda e: e["channel"]["id"] == "c2")
        elif template == "/channels/{channelId}/record":
            watcher.wait_for("RecordingStarted", pred=lambda e, n=query["name"]: e["recording"]["name"] == n)
    assert failures == []
    watcher.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == "c1")
    seen = set()
    for collector in (watcher, everything):
        for event in collector.events:
            seen.add(event["type"])
            assert models.validate(event, event["type"]) == [], event
    assert {"StasisStart", "StasisEnd", "ChannelDestroyed", "PlaybackStarted", "PlaybackFinished",
            "RecordingStarted", "RecordingFinished", "ChannelEnteredBridge", "ChannelLeftBridge",
            "BridgeCreated", "BridgeDestroyed", "ChannelVarset", "ChannelDtmfReceived", "DeviceStateChanged",
            "ChannelUserevent", "ChannelHold", "ChannelUnhold", "BridgeVideoSourceChanged", "CallBroadcast",
            "CallClaimed", "ChannelCreated", "ChannelStateChange", "Dial", "ChannelTalkingStarted",
            "ChannelTalkingFinished", "ChannelCallerId", "ChannelConnectedLine", "ChannelDialplan",
            "PlaybackContinuing", "ApplicationMoveFailed"} <= seen


def test_rest_responses_validate(sim, sim_events, models):
    ev = sim_events(sim, "conf")
    ev.send({"type": "RESTRequest", "request_id": "1", "method": "GET", "uri": "channels"})
    ev.send({"type": "RESTRequest", "request_id": "2", "method": "GET", "uri": "channels/nope"})
    ev.send({"type": "Bogus", "request_id": "3"})
    wait_for(lambda: len(ev.types(["RESTResponse"])) == 3)
    for event in ev.events:
        assert models.validate(event, "RESTResponse") == []
    assert jsonutil.loads(ev.events[0]["message_body"]) == []


def _shape(value):
    """Key structure of a JSON value (dict keys, recursively; lists by their first item)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k not in ("userevent", "bridgevars", "variables")}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [_shape(value[0])]
    return None


def test_event_field_sets_match_the_recording(sim_factory, sim_events):
    """Each event type the simulator sends has a key set a real Asterisk sent for that type."""
    events_dir = shared_path("fixtures", "asterisk", "events")
    recorded = {}
    for path in os.listdir(events_dir):
        with open(os.path.join(events_dir, path)) as f:
            doc = json.load(f)
        recorded[doc["type"]] = [json.dumps(_shape(s["event"]), sort_keys=True) for s in doc["samples"]]
    sim = sim_factory(media_scale=0.01, endpoints=[("PJSIP", "alice"), ("PJSIP", "bob")])
    watcher = sim_events(sim, "conf")
    everything = sim_events(sim, "observer", subscribe_all=True)
    sim_events(sim, "conf2")
    for method, template, values, query, body in PLAN:
        if template == "/events/claim":
            break
        path = template
        for k, v in values.items():
            path = path.replace("{%s}" % k, v)
        r = requests.request(method, sim.url + path, params=query, json=body, auth=AUTH)
        if template in ("/channels", "/channels/{channelId}") and method == "POST":
            watcher.wait_for("StasisStart", pred=lambda e, cid=r.json()["id"]: e["channel"]["id"] == cid)
        elif template == "/channels/create":
            watcher.wait_for("StasisStart", pred=lambda e: e["channel"]["id"] == "c2")
        elif template == "/channels/{channelId}/dial":
            wait_for(lambda: sim.channels["c2"]["state"] == "Up")
        elif template.endswith("/addChannel"):
            watcher.wait_for("ChannelEnteredBridge", pred=lambda e: e["channel"]["id"] == "c2")
    watcher.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == "c1")
    unknown = []
    checked = set()
    for event in watcher.events + everything.events:
        if event["type"] not in recorded:
            continue
        checked.add(event["type"])
        if json.dumps(_shape(event), sort_keys=True) not in recorded[event["type"]]:
            unknown.append((event["type"], sorted(event)))
    assert unknown == []
    assert len(checked) >= 20
