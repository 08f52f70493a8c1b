"""The simulator's far end of a call: DTMF at given times, recordings ended by a key or by silence,
a beep before recording, far-end hang-ups, incoming (ringing) calls, busy and congestion originates.

Driven over ARI (HTTP + events websocket) and the ``/_sim/`` controls; event orders are compared with
the recordings of a real Asterisk 22 where they exist (../shared/fixtures/asterisk).
"""
import requests

from ariproxy import jsonutil
from tests.support.shared import shared_path
from tests.support.wait import wait_for

AUTH = ("asterisk", "asterisk")


def _post(sim, path, **params):
    r = requests.post(sim.url + path, params=params, auth=AUTH)
    assert r.status_code in (200, 201, 204), (path, r.status_code, r.text)
    return r.json() if r.content else None


def _control(sim, action, **params):
    r = requests.post(sim.base_url + "/_sim/" + action, params=params)
    return r.status_code, r.json()


def _answered_call(sim, ev, cid="c1"):
    _post(sim, "/channels", endpoint="Local/1000@default", app="test", channelId=cid)
    ev.wait_for("StasisStart", pred=lambda e: e["channel"]["id"] == cid)
    return cid


def _digits(ev, cid):
    return "".join(e["digit"] for e in ev.events
                   if e["type"] == "ChannelDtmfReceived" and e["channel"]["id"] == cid)


def test_dtmf_from_the_python_api_in_order(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    assert sim.send_dtmf(cid, "12#", at=0.5, between=1.0) == [0.5, 1.5, 2.5]
    wait_for(lambda: _digits(ev, cid) == "12#", 5.0)
    dtmf = [e for e in ev.events if e["type"] == "ChannelDtmfReceived"]
    assert all(e["duration_ms"] == 100 and e["channel"]["state"] == "Up" for e in dtmf)


def test_dtmf_at_explicit_times_over_the_control_route(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    # the later offset first: digits arrive in time order, not in the order given
    status, body = _control(sim, "dtmf", channel=cid, digits="98", times="3,1", duration="80")
    assert status == 200 and body["times"] == [3.0, 1.0]
    wait_for(lambda: _digits(ev, cid) == "89", 5.0)
    assert {e["duration_ms"] for e in ev.events if e["type"] == "ChannelDtmfReceived"} == {80}


def test_control_routes_refuse_bad_input(sim):
    assert _control(sim, "dtmf", channel="nope", digits="1")[0] == 400
    status, body = _control(sim, "dtmf", channel="nope", digits="1", at="soon")
    assert status == 400 and "could not convert" in body["message"]
    assert _control(sim, "hangup", channel="nope")[0] == 400
    assert _control(sim, "speak", channel="nope")[0] == 400
    assert _control(sim, "call")[0] == 400
    assert _control(sim, "call", app="test", endpoint="Bogus/x")[0] == 400


def test_dtmf_after_hangup_is_not_sent(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    sim.send_dtmf(cid, "5", at=2.0)
    sim.hangup(cid)
    ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == cid)
    # a later DTMF (scheduled after the first) proves the first one's time has passed
    other = _answered_call(sim, ev, "c2")
    sim.send_dtmf(other, "7", at=3.0)
    wait_for(lambda: _digits(ev, other) == "7", 5.0)
    assert _digits(ev, cid) == ""


def test_recording_ends_on_its_terminate_key_only(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    rec = _post(sim, "/channels/%s/record" % cid, name="msg1", format="wav", terminateOn="#")
    assert rec["state"] == "recording"
    ev.wait_for("RecordingStarted")
    sim.send_dtmf(cid, "1*#", at=0.2, between=0.5)
    done = ev.wait_for("RecordingFinished", timeout=5)
    assert done["recording"]["state"] == "done" and done["recording"]["name"] == "msg1"
    # the key that ended it came as an event too, and the earlier ones did not end it
    assert _digits(ev, cid) == "1*#"
    finished_at = ev.events.index(done)
    assert [e["digit"] for e in ev.events[:finished_at] if e["type"] == "ChannelDtmfReceived"] == ["1", "*", "#"]
    assert "msg1" in sim.stored_recordings and sim.live_recordings == {}


def test_recording_with_terminate_any_and_none(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    _post(sim, "/channels/%s/record" % cid, name="keep-going", format="wav")          # terminateOn none
    _post(sim, "/channels/%s/record" % cid, name="any-key", format="wav", terminateOn="any")
    wait_for(lambda: len([e for e in ev.events if e["type"] == "RecordingStarted"]) == 2, 5.0)
    sim.send_dtmf(cid, "4")
    done = ev.wait_for("RecordingFinished")
    assert done["recording"]["name"] == "any-key"
    assert list(sim.live_recordings) == ["keep-going"]
    _post(sim, "/recordings/live/keep-going/stop")
    ev.wait_for("RecordingFinished", pred=lambda e: e["recording"]["name"] == "keep-going")


def test_recording_ends_on_silence_after_the_caller_stops_talking(sim_factory, sim_events):
    sim = sim_factory(media_scale=0.05)  # the talk must begin within the first 4 s (0.2 s) of silence
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    _post(sim, "/channels/%s/record" % cid, name="talk", format="wav", maxSilenceSeconds="4")
    ev.wait_for("RecordingStarted")
    sim.speak(cid, seconds=3.0)
    done = ev.wait_for("RecordingFinished", timeout=5)
    rec = done["recording"]
    assert rec["state"] == "done"
    # 3 s of talk then 4 s of silence (trimmed): about 3 s stored, with talking and silence reported
    assert rec["duration"] >= 2, rec
    assert rec["talking_duration"] + rec["silence_duration"] == rec["duration"]
    assert rec["talking_duration"] >= 2


def test_recording_of_silence_ends_after_max_silence(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    status, _ = _control(sim, "speak", channel=cid, seconds="1", at="300")  # far later: silent meanwhile
    assert status == 200
    _post(sim, "/channels/%s/record" % cid, name="quiet", format="wav", maxSilenceSeconds="1", beep="true")
    done = ev.wait_for("RecordingFinished", timeout=5)
    # only silence: nothing talked, and (trimmed) next to nothing stored
    assert done["recording"]["talking_duration"] == 0
    assert done["recording"]["silence_duration"] == done["recording"]["duration"]


def test_beep_comes_before_recording_starts(sim_factory, sim_events):
    sim = sim_factory(media_scale=1.0)  # a real 0.42 s beep: the first key surely comes during it
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    _post(sim, "/channels/%s/record" % cid, name="beeped", format="wav", beep="true", terminateOn="*")
    # a key pressed during the beep does not end the recording: it has not started
    sim.send_dtmf(cid, "*")
    wait_for(lambda: _digits(ev, cid) == "*", 5.0)
    started = ev.wait_for("RecordingStarted")
    assert ev.events.index(started) > [e["type"] for e in ev.events].index("ChannelDtmfReceived")
    assert "beeped" in sim.live_recordings
    sim.send_dtmf(cid, "*")
    ev.wait_for("RecordingFinished")


def test_far_end_hangup_during_playback_and_recording(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    _post(sim, "/channels/%s/play" % cid, media="tone:ring", playbackId="pb-long")
    ev.wait_for("PlaybackStarted")
    _post(sim, "/channels/%s/record" % cid, name="cut", format="wav")
    ev.wait_for("RecordingStarted")
    status, _ = _control(sim, "hangup", channel=cid, cause="16", at="0.5")
    assert status == 200
    ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == cid)
    types = ev.types()
    req = types.index("ChannelHangupRequest")
    hangup = ev.events[req]
    assert hangup["cause"] == 16 and "soft" not in hangup  # from the far end, not over ARI
    assert types[req:].index("PlaybackFinished") < types[req:].index("StasisEnd")
    assert types[req:].index("RecordingFinished") < types[req:].index("StasisEnd")
    assert "cut" in sim.stored_recordings


def test_playback_lengths_follow_the_sounds(sim_factory, sim_events):
    sim = sim_factory(media_scale=0.1)
    ev = sim_events(sim, "test")
    cid = _answered_call(sim, ev)
    _post(sim, "/channels/%s/play" % cid, media="sound:vm-intro", playbackId="long")      # 4.6 s
    _post(sim, "/channels/%s/play" % cid, media="sound:digits/7", playbackId="short")     # 0.75 s
    first = ev.wait_for("PlaybackFinished", timeout=5)
    assert first["playback"]["id"] == "short"
    ev.wait_for("PlaybackFinished", pred=lambda e: e["playback"]["id"] == "long", timeout=5)


def test_incoming_call_rings_until_the_application_answers(sim, sim_events):
    ev = sim_events(sim, "test")
    status, body = _control(sim, "call", app="test", caller="5551000", exten="100", channel_id="in-1")
    assert status == 200 and body["channel"] == "in-1"
    start = ev.wait_for("StasisStart")
    chan = start["channel"]
    assert chan["id"] == "in-1" and chan["state"] == "Ring"
    assert chan["caller"]["number"] == "5551000" and chan["dialplan"]["exten"] == "100"
    assert chan["dialplan"]["app_name"] == "Stasis" and chan["name"].startswith("PJSIP/caller-")
    _post(sim, "/channels/in-1/answer")
    up = ev.wait_for("ChannelStateChange")
    assert up["channel"]["state"] == "Up"
    sim.hangup("in-1", cause=16)
    gone = ev.wait_for("ChannelDestroyed")
    assert (gone["cause"], gone["cause_txt"]) == (16, "Normal Clearing")


def test_incoming_call_caller_gives_up_when_nobody_answers(sim, sim_events):
    ev = sim_events(sim, "test")
    cid = sim.incoming_call("test", caller="200", ring_timeout=1.0)
    ev.wait_for("StasisStart")
    gone = ev.wait_for("ChannelDestroyed", timeout=5)
    assert gone["channel"]["id"] == cid and gone["channel"]["state"] == "Ring"
    assert "ChannelStateChange" not in ev.types()


def test_busy_originate_matches_the_recording(sim, sim_events):
    transcript = jsonutil.loads(open(shared_path("fixtures", "asterisk", "transcript.json"), "rb").read())
    start = next(i for i, e in enumerate(transcript) if e.get("label") == "originate to Busy() target"
                 and e["kind"] == "rest_request")
    recorded = []
    for e in transcript[start + 1:]:
        if e["kind"] == "rest_request":
            break
        if e["kind"] == "ws_event" and e["ws"] == "test":
            recorded.append(e["event"])
    ev = sim_events(sim, "test")
    _post(sim, "/channels", endpoint="Local/4000@default", app="test", channelId="busy-1")
    ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == "busy-1;2")

    def shape(events):
        return [(e["type"], e.get("channel", e.get("peer", {})).get("id"), e.get("dialstatus"), e.get("cause"),
                 e.get("cause_txt")) for e in events]
    assert shape(ev.events) == shape(recorded)


def test_congestion_originate(sim, sim_events):
    ev = sim_events(sim, "test")
    _post(sim, "/channels", endpoint="Local/congestion@default", app="test", channelId="cg")
    gone = ev.wait_for("ChannelDestroyed", pred=lambda e: e["channel"]["id"] == "cg;2")
    assert gone["cause"] == 34
    assert ev.wait_for("Dial", pred=lambda e: e["dialstatus"])["dialstatus"] == "CONGESTION"
    assert "StasisStart" not in ev.types()
