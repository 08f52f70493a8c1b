"""Call scenarios on the simulator with the exact event order a real Asterisk 22 gives."""
import requests

from tests.support.wait import wait_for

AUTH = ("asterisk", "asterisk")


def _post(sim, path, **params):
    r = requests.post(sim.url + path, params=params, auth=AUTH)
    assert r.status_code in (200, 201, 204), (path, r.status_code, r.text)
    return r.json() if r.content else None


def test_originate_answer_play_hangup_event_order(sim, sim_events):
    ev = sim_events(sim, "test")
    chan = _post(sim, "/channels", endpoint="Local/1000@default", app="test", appArgs="one,two")
    cid = chan["id"]
    start = ev.wait_for("StasisStart")
    assert start["args"] == ["one", "two"] and start["channel"]["state"] == "Up"
    assert _post(sim, "/channels/%s/answer" % cid) is None
    pb = _post(sim, "/channels/%s/play" % cid, media="sound:hello-world", playbackId="pb-1")
    assert pb["state"] == "queued" and pb["target_uri"] == "channel:" + cid
    ev.wait_for("PlaybackFinished")
    assert requests.delete(sim.url + "/channels/" + cid, auth=AUTH).status_code == 204
    other = ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] != cid)
    assert [e["type"] for e in ev.events] == [
        "Dial", "ChannelDialplan", "ChannelDialplan", "ChannelStateChange", "ChannelStateChange", "Dial",
        "ChannelVarset", "StasisStart",
        "PlaybackStarted", "PlaybackFinished",
        "ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelHangupRequest", "ChannelDestroyed",
        "ChannelHangupRequest", "ChannelDestroyed"]
    by_type = {e["type"]: e for e in ev.events if e.get("channel", {}).get("id") == cid}
    assert by_type["ChannelHangupRequest"] == dict(by_type["ChannelHangupRequest"], cause=32, soft=True)
    assert by_type["ChannelDestroyed"]["cause"] == 16
    assert by_type["ChannelDestroyed"]["cause_txt"] == "Normal Clearing"
    assert other["channel"]["name"].endswith(";2")
    assert [e["playback"]["state"] for e in ev.events if e["type"].startswith("Playback")] == ["playing", "done"]
    assert sim.channels == {}


def test_created_channel_answers_with_state_change(sim, sim_events):
    ev = sim_events(sim, "test")
    chan = _post(sim, "/channels/create", endpoint="Local/2000@default", app="test", channelId="c-1",
                 appArgs="created")
    assert chan["id"] == "c-1" and chan["state"] == "Down"
    start = ev.wait_for("StasisStart")
    assert start["channel"]["state"] == "Down" and start["args"] == ["created"]
    _post(sim, "/channels/c-1/answer")
    change = ev.wait_for("ChannelStateChange")
    assert change["channel"]["state"] == "Up"
    assert [e["type"] for e in ev.events] == ["ChannelDialplan", "ChannelVarset", "StasisStart",
                                              "ChannelStateChange"]


def test_two_channels_bridged_and_unbridged(sim, sim_events):
    ev = sim_events(sim, "test")
    a = _post(sim, "/channels", endpoint="Local/1000@default", app="test", channelId="a")["id"]
    b = _post(sim, "/channels", endpoint="Local/1001@default", app="test", channelId="b")["id"]
    ev.wait_for("StasisStart", pred=lambda e: e["channel"]["id"] == "a")
    ev.wait_for("StasisStart", pred=lambda e: e["channel"]["id"] == "b")
    bridge = _post(sim, "/bridges", type="mixing", bridgeId="br", name="two")
    assert bridge["channels"] == [] and bridge["bridge_type"] == "mixing"
    mark = len(ev.events)
    _post(sim, "/bridges/br/addChannel", channel="%s,%s" % (a, b))
    ev.wait_for("ChannelVarset", pred=lambda e: e["channel"]["id"] == b and e["variable"] == "BRIDGEPEER", start=mark)
    joined = ev.events[mark:]
    assert [e["type"] for e in joined] == ["ChannelEnteredBridge", "ChannelEnteredBridge", "ChannelVarset",
                                           "ChannelVarset"]
    assert joined[1]["bridge"]["channels"] == [a, b]
    assert joined[2]["value"] == "Local/1001@default-00000001;1"
    assert requests.get(sim.url + "/bridges/br", auth=AUTH).json()["channels"] == [a, b]
    mark = len(ev.events)
    _post(sim, "/bridges/br/removeChannel", channel=a)
    _post(sim, "/bridges/br/removeChannel", channel=b)
    ev.wait_for("ChannelLeftBridge", pred=lambda e: e["channel"]["id"] == b, start=mark)
    left = ev.events[mark:]
    assert [(e["type"], e["channel"]["id"]) for e in left] == [
        ("ChannelVarset", a), ("ChannelLeftBridge", a), ("ChannelVarset", b), ("ChannelLeftBridge", b)]
    assert left[3]["bridge"]["channels"] == []
    r = requests.post(sim.url + "/bridges/br/removeChannel", params={"channel": a}, auth=AUTH)
    assert (r.status_code, r.json()) == (422, {"message": "Channel not in this bridge"})
    assert requests.delete(sim.url + "/bridges/br", auth=AUTH).status_code == 204
    wait_for(lambda: "br" not in sim.bridges)
    r = requests.delete(sim.url + "/bridges/br", auth=AUTH)
    assert (r.status_code, r.reason) == (404, "Not found")
    # Asterisk sends no BridgeDestroyed to an app whose channels left before the bridge went away
    assert "BridgeDestroyed" not in ev.types()


def test_bridge_destroyed_event_after_member_hung_up(sim, sim_events):
    ev = sim_events(sim, "test")
    _post(sim, "/channels", endpoint="Local/1000@default", app="test", channelId="a")
    ev.wait_for("StasisStart")
    _post(sim, "/bridges", bridgeId="br")
    _post(sim, "/bridges/br/addChannel", channel="a")
    ev.wait_for("ChannelEnteredBridge")
    requests.delete(sim.url + "/channels/a", auth=AUTH)
    ev.wait_for("ChannelDestroyed")
    requests.delete(sim.url + "/bridges/br", auth=AUTH)
    destroyed = ev.wait_for("BridgeDestroyed")
    assert destroyed["bridge"]["id"] == "br"


def test_recording_listed_after_it_finishes(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _post(sim, "/channels", endpoint="Local/1000@default", app="test")["id"]
    ev.wait_for("StasisStart")
    rec = requests.post(sim.url + "/channels/%s/record" % cid, params={"name": "rec1", "format": "wav"}, auth=AUTH)
    assert rec.status_code == 201 and rec.headers["Location"] == "/ari/recordings/live/rec1"
    assert requests.get(sim.url + "/recordings/stored", auth=AUTH).json() == []
    ev.wait_for("RecordingStarted")
    assert requests.get(sim.url + "/recordings/live/rec1", auth=AUTH).json()["state"] == "recording"
    assert requests.post(sim.url + "/recordings/live/rec1/stop", auth=AUTH).status_code == 204
    finished = ev.wait_for("RecordingFinished")
    assert finished["recording"]["state"] == "done" and isinstance(finished["recording"]["duration"], int)
    assert requests.get(sim.url + "/recordings/stored", auth=AUTH).json() == [{"name": "rec1", "format": "wav"}]
    f = requests.get(sim.url + "/recordings/stored/rec1/file", auth=AUTH)
    assert f.headers["Content-Type"] == "audio/wav" and f.content[:4] == b"RIFF"
    again = requests.post(sim.url + "/channels/%s/record" % cid, params={"name": "rec1", "format": "wav",
                                                                          "ifExists": "fail"}, auth=AUTH)
    assert (again.status_code, again.json()) == (
        409, {"message": "Recording 'rec1' already exists and can not be overwritten"})
    _post(sim, "/channels/%s/record" % cid, name="rec2", format="gsm", maxDurationSeconds="1")
    ev.wait_for("RecordingFinished", pred=lambda e: e["recording"]["name"] == "rec2")
    assert sim.stored_recordings["rec2"] == {"name": "rec2", "format": "gsm"}


def test_media_list_and_controls(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _post(sim, "/channels", endpoint="Local/1000@default", app="test")["id"]
    ev.wait_for("StasisStart")
    pb = _post(sim, "/channels/%s/play" % cid, media="sound:digits/1,sound:beep")
    assert (pb["media_uri"], pb["next_media_uri"]) == ("sound:digits/1", "sound:beep")
    ev.wait_for("PlaybackFinished")
    kinds = [(e["type"], e["playback"]["media_uri"]) for e in ev.events if e["type"].startswith("Playback")]
    assert kinds == [("PlaybackStarted", "sound:digits/1"), ("PlaybackContinuing", "sound:digits/1"),
                     ("PlaybackStarted", "sound:beep"), ("PlaybackFinished", "sound:beep")]
    long_pb = _post(sim, "/channels/%s/play/tone-1" % cid, media="tone:ring")
    assert long_pb["id"] == "tone-1"
    for op in ("pause", "unpause", "restart", "forward", "reverse"):
        _post(sim, "/playbacks/tone-1/control", operation=op)
    r = requests.post(sim.url + "/playbacks/tone-1/control", params={"operation": "bogus"}, auth=AUTH)
    assert r.json() == {"message": "Invalid operation bogus"}
    assert requests.delete(sim.url + "/playbacks/tone-1", auth=AUTH).status_code == 204
    done = ev.wait_for("PlaybackFinished", pred=lambda e: e["playback"]["id"] == "tone-1")
    assert done["playback"]["state"] == "done"
    failed_start = len(ev.events)
    _post(sim, "/channels/%s/play" % cid, media="sound:no-such-sound")
    failed = ev.wait_for("PlaybackFinished", start=failed_start)
    assert failed["playback"]["state"] == "failed"


def test_dtmf_variables_and_user_event(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _post(sim, "/channels", endpoint="Local/1000@default", app="test")["id"]
    ev.wait_for("StasisStart")
    _post(sim, "/channels/%s/dtmf" % cid, dtmf="12#", between="10", duration="20")
    wait_for(lambda: len(ev.types(["ChannelDtmfReceived"])) == 3)
    assert [e["digit"] for e in ev.events if e["type"] == "ChannelDtmfReceived"] == ["1", "2", "#"]
    _post(sim, "/channels/%s/variable" % cid, variable="FOO", value="bar")
    assert requests.get(sim.url + "/channels/%s/variable" % cid, params={"variable": "FOO"},
                        auth=AUTH).json() == {"value": "bar"}
    missing = requests.get(sim.url + "/channels/%s/variable" % cid, params={"variable": "NOPE"}, auth=AUTH)
    assert (missing.status_code, missing.reason) == (404, "Variable Not Found")
    r = requests.post(sim.url + "/events/user/Hello", params={"application": "test", "source": "channel:" + cid},
                      json={"variables": {"k": "v"}}, auth=AUTH)
    assert r.status_code == 204
    user = ev.wait_for("ChannelUserevent")
    assert user["userevent"] == {"k": "v", "eventname": "Hello"} and user["channel"]["id"] == cid


def test_two_simulators_with_their_own_entity_ids(sim_factory):
    one = sim_factory(entity_id="00:11:22:33:44:55")
    two = sim_factory(entity_id="66:77:88:99:aa:bb")
    ids = {requests.get(s.url + "/asterisk/info", auth=AUTH).json()["system"]["entity_id"] for s in (one, two)}
    assert ids == {"00:11:22:33:44:55", "66:77:88:99:aa:bb"}


def test_originate_events_match_the_recording(sim, sim_events):
    """The first recorded originate (caller id, variables, args) gives the same event sequence."""
    import json
    import os
    from tests.support.shared import shared_path
    with open(os.path.join(shared_path("fixtures", "asterisk"), "transcript.json")) as f:
        transcript = json.load(f)
    recorded = []
    for entry in transcript:
        if entry["kind"] == "ws_event" and entry["ws"] == "test":
            event = entry["event"]
            recorded.append((event["type"], event.get("channel", event.get("peer", {})).get("name", "")[-2:]))
            if event["type"] == "StasisStart":
                break
    request = next(e for e in transcript if e["kind"] == "rest_request" and e["n"] == 39)
    ev = sim_events(sim, "test")
    r = requests.post(sim.url + "/channels", params=request["query"], json=request["body"], auth=AUTH)
    assert r.json()["caller"] == {"name": "Alice Example", "number": "5551000"}
    assert r.json()["connected"] == {"name": "ARI Test", "number": "5551000"}
    start = ev.wait_for("StasisStart")
    got = [(e["type"], e.get("channel", e.get("peer", {})).get("name", "")[-2:]) for e in ev.events]
    assert got == recorded
    assert start["args"] == ["first", "second arg"]
    var = requests.get(sim.url + "/channels/%s/variable" % start["channel"]["id"], params={"variable": "MY_ORIG_VAR"},
                       auth=AUTH)
    assert var.json() == {"value": "orig-value"}
    # as recorded: after the hangup, the ;2 half's caller id goes away after its ChannelDestroyed
    requests.delete(sim.url + "/channels/" + start["channel"]["id"], auth=AUTH)
    late = ev.wait_for("ChannelCallerId", pred=lambda e: e["caller_presentation"] == 67)
    assert ev.events.index(late) == len(ev.events) - 1 and ev.events[-2]["type"] == "ChannelDestroyed"
    assert late["channel"]["name"].endswith(";2")


def test_talk_detection_hears_the_echoed_playback(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _post(sim, "/channels", endpoint="Local/2000@default", app="test")["id"]
    ev.wait_for("StasisStart")
    _post(sim, "/channels/%s/variable" % cid, variable="TALK_DETECT(set)", value="")
    _post(sim, "/channels/%s/play" % cid, media="sound:hello-world")
    finished = ev.wait_for("ChannelTalkingFinished")
    assert finished["duration"] == 1240 and finished["channel"]["id"] == cid
    started = ev.types(["PlaybackStarted", "ChannelTalkingStarted", "ChannelTalkingFinished"])
    assert started == ["PlaybackStarted", "ChannelTalkingStarted", "ChannelTalkingFinished"]


def test_originate_into_an_unregistered_app_hangs_up(sim, sim_events):
    observer = sim_events(sim, "observer", subscribe_all=True)
    chan = _post(sim, "/channels", endpoint="Local/1000@default", app="nobody", channelId="lonely")
    assert chan["id"] == "lonely"
    observer.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == "lonely")
    failed = observer.wait_for("ChannelVarset", pred=lambda e: e["variable"] == "STASISSTATUS")
    assert failed["value"] == "FAILED"
    wait_for(lambda: sim.channels == {})


def test_busy_and_unanswered_originates(sim, sim_events):
    ev = sim_events(sim, "test")
    _post(sim, "/channels", endpoint="Local/4000@default", app="test", channelId="busy-1")
    busy = ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == "busy-1;2")
    assert (busy["cause"], busy["cause_txt"]) == (17, "User busy")
    assert "StasisStart" not in ev.types()
    _post(sim, "/channels", endpoint="Local/3000@default", app="test", channelId="rna-1", timeout="2")
    ringing = ev.wait_for("Dial", pred=lambda e: e["dialstatus"] == "RINGING")
    assert ringing["peer"]["state"] == "Ringing"
    gone = ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == "rna-1")
    assert (gone["cause"], gone["cause_txt"]) == (19, "User alerting, no answer")
    assert "StasisStart" not in ev.types()
    assert sim.channels == {}
