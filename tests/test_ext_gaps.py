"""``ariproxy.ext`` helpers after lost events (a real gap, through a real server and nats-server).

``events_lost(proxy)`` makes Asterisk (the simulator) give the server's events websocket up silently,
as on its write timeout: whatever happens in the block (a far-end hang-up, a playback or recording
ending, a call answered) sends events that are dropped, and it checks they were.  The server finds
the dead socket by its ping deadline (0.75 s, far longer than any block takes), reconnects and publishes its
gap marker.  Each helper was started
with a long timeout of its own before the block and must come back well before it, with the state
Asterisk is in.  One test cuts the client's own NATS connection instead (the client's own marker).
"""
from contextlib import contextmanager

import gevent
import pytest

from ariproxy.errors import HungUp
from ariproxy.ext import (COMPLETE, DESTROYED, ENTERED, FINISHED, GAP, HUNGUP, LEFT, BridgeMonitor, CallFailed,
                          bridge, channel_life, originate, play, prompt, record)
from ariproxy.ext.record import GAP as RECORD_GAP
from ariproxy.ext.record import HANGUP, KEY
from tests.support.calls import answered_call, client, requests_to, subscription_count  # noqa: F401
from tests.support.wait import wait_for

#: helper timeouts the tests must come back well before (the waits below are bounded by WAIT)
LONG = 120
WAIT = 60


@pytest.fixture
def fast_proxy(proxy_factory):
    """A proxy on a fast simulator whose server finds a dead events websocket quickly; REST goes over
    HTTP, so requests are answered while the events websocket is silenced."""
    return proxy_factory(sim_options={"media_scale": 0.01}, events_ping_interval=0.2, events_pong_timeout=0.75,
                         rest_transport="http")


@contextmanager
def events_lost(proxy):
    """Events Asterisk sends for the application in the block are lost (the block must wait until
    they are sent); then the server finds the dead socket, reconnects and publishes a gap marker."""
    sim = proxy.sim
    gaps = proxy.server.stats["event_gaps"]
    dropped = sim.websocket_dropped
    assert sim.silence_websockets(proxy.application, close_on_read=False) == 1
    yield
    # what the block made happen went to the silenced socket: lost, not merely late
    assert sim.websocket_dropped > dropped, "nothing was sent during the gap"
    assert proxy.server.stats["event_gaps"] == gaps, "the server reconnected before the block was over"
    wait_for(lambda: proxy.server.stats["event_gaps"] > gaps, WAIT, message="no gap marker published")


def _playing(sim):
    return [pid for pid, p in sim.playbacks.items() if p["state"] == "playing"]


def _end_playback(sim, pid):
    """The playback ends on Asterisk's side (as at the end of its media)."""
    sim.asterisk.finish_playback(sim.asterisk.playbacks[pid], "done")


def _press(sim, channel_id, digits):
    """The caller presses ``digits`` now (their events are sent before this returns)."""
    for digit in digits:
        sim.asterisk.dtmf(sim.asterisk.channels[channel_id], digit)


def _hang_up(sim, channel_id):
    sim.hangup(channel_id)
    wait_for(lambda: channel_id not in sim.channels, 10)


# ------------------------------------------------------------------ play

def _endless_play(sim, client):
    """An answered call with a ``play()`` of a tone that never ends on it: (channel, greenlet)."""
    ch = answered_call(client)
    runner = gevent.spawn(play, ch, "tone:ring", timeout=LONG)
    wait_for(lambda: _playing(sim), 10)
    return ch, runner


def test_play_whose_playback_ended_during_a_gap_is_finished(fast_proxy, client):
    sim = fast_proxy.sim
    before = subscription_count(client)
    ch, runner = _endless_play(sim, client)
    with events_lost(fast_proxy):
        _end_playback(sim, _playing(sim)[0])
    result = runner.get(timeout=WAIT)
    assert result.status == FINISHED
    assert subscription_count(client) == before
    ch.hangup()


def test_play_on_a_channel_hung_up_during_a_gap_is_hungup(fast_proxy, client):
    sim = fast_proxy.sim
    ch, runner = _endless_play(sim, client)
    with events_lost(fast_proxy):
        _hang_up(sim, ch.id)
    assert runner.get(timeout=WAIT).status == HUNGUP


def test_play_goes_on_after_a_gap_while_its_playback_plays(fast_proxy, client):
    sim = fast_proxy.sim
    ch, runner = _endless_play(sim, client)
    with events_lost(fast_proxy):
        _press(sim, ch.id, "5")     # (a play ignores digits)
    # the marker was read and the playback found playing: the helper waits on, and its real end counts
    wait_for(lambda: requests_to(sim, "GET", "/playbacks/"), WAIT)
    assert not runner.ready()
    _end_playback(sim, _playing(sim)[0])
    assert runner.get(timeout=WAIT).status == FINISHED
    ch.hangup()


# ------------------------------------------------------------------ prompt

def test_prompt_whose_digits_were_lost_asks_again(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(prompt, ch, "tone:ring", max_digits=4, first_digit_timeout=LONG,
                          inter_digit_timeout=LONG, replays=1)
    wait_for(lambda: _playing(sim), 10)
    first = _playing(sim)[0]
    with events_lost(fast_proxy):
        _press(sim, ch.id, "12")        # lost: the attempt cannot be trusted
    # the attempt is abandoned (its prompt stopped) and the prompt played again
    wait_for(lambda: len(requests_to(sim, "POST", "/play")) == 2 and _playing(sim), WAIT)
    assert first not in sim.playbacks
    _press(sim, ch.id, "5678")
    answer = runner.get(timeout=WAIT)
    assert (answer.status, answer.digits, answer.plays) == (COMPLETE, "5678", 2)
    wait_for(lambda: sim.playbacks == {}, 10)
    assert subscription_count(client) == before
    ch.hangup()


def test_prompt_without_replays_left_says_gap(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    runner = gevent.spawn(prompt, ch, "tone:ring", max_digits=4, first_digit_timeout=LONG)
    wait_for(lambda: _playing(sim), 10)
    with events_lost(fast_proxy):
        _press(sim, ch.id, "12")
    answer = runner.get(timeout=WAIT)
    assert (answer.status, answer.digits, answer.plays, answer.ok) == (GAP, "", 1, False)
    wait_for(lambda: sim.playbacks == {}, 10)       # the prompt was stopped
    ch.hangup()


def test_prompt_on_a_channel_hung_up_during_a_gap_is_hungup(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    runner = gevent.spawn(prompt, ch, "sound:beep", max_digits=4, first_digit_timeout=LONG, replays=3)
    wait_for(lambda: requests_to(sim, "POST", "/play") and sim.playbacks == {}, 10)   # waiting for digits
    with events_lost(fast_proxy):
        _press(sim, ch.id, "1")
        _hang_up(sim, ch.id)
    answer = runner.get(timeout=WAIT)
    assert (answer.status, answer.plays) == (HUNGUP, 1)


# ------------------------------------------------------------------ record

def _recording(sim):
    return [r for r in sim.asterisk.live_recordings.values() if r.live]


def test_record_that_ended_during_a_gap_gives_the_stored_recording(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(record, ch, name="gap-key", beep=False, terminate_on="#", timeout=LONG)
    wait_for(lambda: _recording(sim), 10)
    with events_lost(fast_proxy):
        _press(sim, ch.id, "#")         # Asterisk ends and stores it; RecordingFinished is lost
        assert "gap-key" in sim.stored_recordings
    result = runner.get(timeout=WAIT)
    assert (result.reason, result.name, result.duration, result.kept) == (RECORD_GAP, "gap-key", None, True)
    assert result.recording.id == "gap-key" and result.event.type == "AriProxyEventGap"
    assert subscription_count(client) == before
    ch.hangup()


@pytest.mark.parametrize("keep", [True, False])
def test_record_whose_channel_hung_up_during_a_gap_is_hangup(fast_proxy, client, keep):
    sim = fast_proxy.sim
    ch = answered_call(client)
    name = "gap-hup-%s" % keep
    runner = gevent.spawn(record, ch, name=name, beep=False, timeout=LONG, keep_on_hangup=keep)
    wait_for(lambda: _recording(sim), 10)
    with events_lost(fast_proxy):
        _hang_up(sim, ch.id)
    result = runner.get(timeout=WAIT)
    assert (result.reason, result.kept) == (HANGUP, keep)
    wait_for(lambda: (name in sim.stored_recordings) == keep, 10)


def test_record_goes_on_after_a_gap_while_it_records(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    runner = gevent.spawn(record, ch, name="gap-on", beep=False, terminate_on="#", timeout=LONG)
    wait_for(lambda: _recording(sim), 10)
    with events_lost(fast_proxy):
        _press(sim, ch.id, "1")
    wait_for(lambda: requests_to(sim, "GET", "/recordings/live/"), WAIT)
    assert not runner.ready()
    _press(sim, ch.id, "#")
    result = runner.get(timeout=WAIT)
    assert (result.reason, result.digit, result.kept) == (KEY, "#", True)
    assert result.duration is not None
    ch.hangup()


# ------------------------------------------------------------------ originate, bridge, channel_life, BridgeMonitor

#: an originate's ring time (media seconds: the simulator's no-answer comes after this x 0.01 s)
RING = 100000


def _ringing(sim):
    return [cid for cid, c in sim.channels.items() if c["state"] == "Ringing"]


def _answer(sim, channel_id, app):
    """The called party answers a ringing originated call: Up, into Stasis ``app``."""
    ast = sim.asterisk
    chan = ast.channels[channel_id]
    for timer in chan.timers:
        timer.kill(block=False)
    ast.set_state(chan, "Up")
    ast.enter_stasis(chan, app, [])


def test_originate_answered_during_a_gap_returns_the_channel(fast_proxy, client):
    sim = fast_proxy.sim
    runner = gevent.spawn(originate, client, "Local/3000@default", timeout=RING, channel_id="gap-answered")
    wait_for(lambda: "gap-answered" in _ringing(sim), 10)
    with events_lost(fast_proxy):
        _answer(sim, "gap-answered", client.application)
    ch = runner.get(timeout=WAIT)
    assert ch.id == "gap-answered" and sim.channels[ch.id]["state"] == "Up"
    ch.hangup()


def test_originate_hung_up_during_a_gap_is_not_answered(fast_proxy, client):
    sim = fast_proxy.sim
    runner = gevent.spawn(originate, client, "Local/3000@default", timeout=RING, channel_id="gap-rejected")
    wait_for(lambda: "gap-rejected" in _ringing(sim), 10)
    with events_lost(fast_proxy):
        _hang_up(sim, "gap-rejected")
    with pytest.raises(CallFailed) as info:
        runner.get(timeout=WAIT)
    assert info.value.cause is None and "events were lost" in str(info.value)
    assert subscription_count(client) == (0, 0)


def test_originate_rings_on_after_the_clients_nats_connection_was_cut(fast_proxy, client):
    sim = fast_proxy.sim
    gaps = []
    client.on_gap(gaps.append)
    runner = gevent.spawn(originate, client, "Local/3000@default", timeout=RING, channel_id="gap-nats")
    wait_for(lambda: "gap-nats" in _ringing(sim), 10)
    # the originate request answered (else it fails with ConnectionLost, rightly): now it waits for events
    wait_for(lambda: client.bus.stats["requests_in_flight"] == 0, 10)
    fast_proxy.nats.kill()          # the client (and the server) lose NATS: the client makes its own marker
    fast_proxy.nats.start()
    wait_for(lambda: gaps and fast_proxy.server.bus.connected, WAIT)
    assert gaps[0]["source"] == "client"
    wait_for(lambda: requests_to(sim, "GET", "/channels/gap-nats"), WAIT)   # it asked: still ringing
    assert not runner.ready()
    sim.hangup("gap-nats", cause=21)     # the real end, after the gap, still counts
    with pytest.raises(CallFailed) as info:
        runner.get(timeout=WAIT)
    assert info.value.cause == 21


def test_bridge_whose_channels_entered_during_a_gap(fast_proxy, client):
    sim = fast_proxy.sim
    a = answered_call(client)
    b = answered_call(client)
    with events_lost(fast_proxy):
        runner = gevent.spawn(bridge, a, b, timeout=LONG)     # ChannelEnteredBridge x 2: lost
        wait_for(lambda: any(sorted(br["channels"]) == sorted([a.id, b.id]) for br in sim.bridges.values()), 10)
    br = runner.get(timeout=WAIT)
    assert sorted(sim.bridges[br.id]["channels"]) == sorted([a.id, b.id])
    a.hangup()
    b.hangup()
    br.destroy()


def test_channel_life_of_a_channel_hung_up_during_a_gap_raises(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    outcome = []

    def work():
        try:
            with channel_life(ch) as call:
                outcome.append(call)
                gevent.sleep(LONG)      # blocked work that reads no events itself
                outcome.append("not reached")
        except HungUp as exc:
            outcome.append(exc)

    runner = gevent.spawn(work)
    wait_for(lambda: outcome, 10)
    with events_lost(fast_proxy):
        _hang_up(sim, ch.id)
    runner.join(WAIT)
    assert runner.dead
    call, exc = outcome
    assert isinstance(exc, HungUp) and exc.id == ch.id and exc.cause is None
    assert exc.event.type == "AriProxyEventGap" and call.ended is exc.event
    assert subscription_count(client) == (0, 0)


def test_bridge_monitor_rereads_the_members_after_a_gap(fast_proxy, client):
    sim = fast_proxy.sim
    a = answered_call(client)
    b = answered_call(client)
    br = client.bridges.create()
    br.add_channel(a)
    wait_for(lambda: sim.bridges[br.id]["channels"] == [a.id], 10)
    changes = []
    with BridgeMonitor(br, on_change=changes.append) as mon:
        with events_lost(fast_proxy):
            br.add_channel(b)           # over HTTP: answered; the bridge events are lost
            _hang_up(sim, a.id)
            wait_for(lambda: sim.bridges[br.id]["channels"] == [b.id], 10)
        mon.wait(lambda m: m.members == [b.id], timeout=WAIT)
        assert sorted((c.type, c.channel_id) for c in changes) == sorted([(LEFT, a.id), (ENTERED, b.id)])
        assert all(c.event.type == "AriProxyEventGap" for c in changes)
        with events_lost(fast_proxy):
            _hang_up(sim, b.id)
            br.destroy()
        mon.wait(lambda m: m.destroyed, timeout=WAIT)
        assert changes[-1].type == DESTROYED
    br.close()
