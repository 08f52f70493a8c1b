"""``ariproxy.ext`` helpers after lost events (a real gap, through a real server and nats-server).

``events_lost(proxy)`` makes Asterisk (the simulator) give the server's events websocket up silently,
as on its write timeout, and keeps refusing the reconnection until the block ends: whatever happens
in the block (a far-end hang-up, a playback or recording ending, a call answered) sends events that are
lost.  After the block the server reconnects and publishes its gap marker.  Each helper was started
with a long timeout of its own before the block and must come back well before it, with the state
Asterisk is in.  One test cuts the client's own NATS connection instead (the client's own marker).
"""
from contextlib import contextmanager

import gevent
import pytest

from ariproxy.errors import HungUp
from ariproxy.ext import (COMPLETE, FINISHED, GAP, HUNGUP, BridgeMonitor, CallFailed, bridge, channel_life,
                          originate, play, prompt, record)
from ariproxy.ext import record as record_module
from tests.support.calls import answered_call, client, requests_to, subscription_count  # noqa: F401
from tests.support.wait import wait_for

#: helper timeouts the tests must come back well before (the waits below are bounded by WAIT)
LONG = 120
WAIT = 60


@pytest.fixture
def fast_proxy(proxy_factory):
    """A proxy on a fast simulator whose server finds a dead events websocket quickly."""
    return proxy_factory(sim_options={"media_scale": 0.01}, events_ping_interval=0.2, events_pong_timeout=0.5)


@contextmanager
def events_lost(proxy):
    """Events sent in the block are lost; then the server reconnects and publishes a gap marker."""
    sim = proxy.sim
    before = proxy.server.stats["event_gaps"]
    assert sim.silence_websockets(proxy.application, close_on_read=False) == 1
    sim.refuse_connections(drop=False)
    try:
        yield
    finally:
        sim.accept_connections()
    wait_for(lambda: proxy.server.stats["event_gaps"] > before, WAIT, message="no gap marker published")


def _playing(sim):
    return [pid for pid, p in sim.playbacks.items() if p["state"] == "playing"]


def _end_playback(sim, pid):
    """The playback ends on Asterisk's side (as at the end of its media)."""
    sim.asterisk.finish_playback(sim.asterisk.playbacks[pid], "done")


def _resubscribe(client, handle):
    """After the reconnect the simulator's application has forgotten what it was subscribed to (Asterisk
    keeps it): subscribe it to ``handle`` again, so its later events reach the helper."""
    client.applications.handle(client.application, node=handle.node).subscribe_source(handle)


def _hang_up(sim, channel_id):
    sim.hangup(channel_id)
    wait_for(lambda: channel_id not in sim.channels, 10)


# ------------------------------------------------------------------ play

def test_play_whose_playback_ended_during_a_gap_is_finished(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(play, ch, "tone:ring", timeout=LONG)
    wait_for(lambda: _playing(sim), 10)
    with events_lost(fast_proxy):
        _end_playback(sim, _playing(sim)[0])
    result = runner.get(timeout=WAIT)
    assert result.status == FINISHED
    assert subscription_count(client) == before
    ch.hangup()


def test_play_on_a_channel_hung_up_during_a_gap_is_hungup(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    runner = gevent.spawn(play, ch, "tone:ring", timeout=LONG)
    wait_for(lambda: _playing(sim), 10)
    with events_lost(fast_proxy):
        _hang_up(sim, ch.id)
    assert runner.get(timeout=WAIT).status == HUNGUP


def test_play_goes_on_after_a_gap_while_its_playback_plays(fast_proxy, client):
    sim = fast_proxy.sim
    ch = answered_call(client)
    runner = gevent.spawn(play, ch, "tone:ring", timeout=LONG)
    wait_for(lambda: _playing(sim), 10)
    with events_lost(fast_proxy):
        pass
    # the marker was read and the playback found playing: the helper waits on, and its real end counts
    wait_for(lambda: requests_to(sim, "GET", "/playbacks/"), WAIT)
    assert not runner.ready()
    _resubscribe(client, ch)
    _end_playback(sim, _playing(sim)[0])
    assert runner.get(timeout=WAIT).status == FINISHED
    ch.hangup()
