"""Client fixes under the toolkit, against the simulator through a real server and nats-server.

Waiting on an entity that ends raises ``HungUp``/``EntityDestroyed`` with the cause (not ``Timeout``);
``listen()`` keeps this client's own channels, gives the handler its client (or a per-call child),
and hangs up (or continues) a call whose handler raised; playback, recording and snoop events reach
the channel's subscriptions.
"""
import logging

import gevent
import pytest
from gevent.event import Event as GEvent

from ariproxy import errors
from tests.support.calls import client, fast_proxy, subscription_count  # noqa: F401
from tests.support.wait import wait_for


def _routes(client):
    return subscription_count(client)[1]


# ------------------------------------------------------------------ waits that cannot succeed

def test_waiting_for_answer_on_a_busy_originate_says_busy(client):
    ch = client.channels.originate(endpoint="Local/4000@default")
    with pytest.raises(errors.HungUp) as info:
        ch.wait("StasisStart", timeout=10)
    exc = info.value
    assert not isinstance(exc, errors.Timeout)
    assert (exc.id, exc.kind, exc.dialstatus) == (ch.id, "channel", "BUSY")
    assert exc.cause == 0 and exc.cause_txt == "Unknown"   # the ;1 half, as a real Asterisk reports it
    assert "hung up" in str(exc) and "BUSY" in str(exc) and "StasisStart" in str(exc)
    # asked again later: the end is remembered
    with pytest.raises(errors.HungUp):
        ch.wait("StasisStart", timeout=10)


def test_waiting_on_an_unanswered_originate_gives_the_no_answer_cause(client):
    ch = client.channels.originate(endpoint="Local/3000@default", timeout=1)
    with pytest.raises(errors.HungUp) as info:
        ch.wait("StasisStart", timeout=10)
    assert (info.value.cause, info.value.cause_txt) == (19, "User alerting, no answer")


def test_wait_on_a_handle_raises_when_the_far_end_hangs_up(fast_proxy, client):
    ch = client.channels.originate(endpoint="Local/1000@default")
    ch.wait("StasisStart", timeout=5)
    other = client.new()
    try:
        handle = other.channels.handle(ch.id)   # not created by `other`: a fresh subscription per wait
        waiter = gevent.spawn(handle.wait, "ChannelDtmfReceived", timeout=10)
        wait_for(lambda: other.subscriptions == 1, 5.0)
        fast_proxy.sim.hangup(ch.id, cause=17)
        with pytest.raises(errors.HungUp) as info:
            waiter.get(timeout=10)
        assert (info.value.cause, info.value.cause_txt) == (17, "User busy")
        assert other.subscriptions == 0
    finally:
        other.close()


def test_waiting_for_a_playback_start_after_it_finished(client):
    ch = client.channels.originate(endpoint="Local/1000@default")
    ch.wait("StasisStart", timeout=5)
    pb = ch.play("sound:beep")
    pb.wait("PlaybackFinished", timeout=5)
    with pytest.raises(errors.EntityDestroyed) as info:
        pb.wait("PlaybackStarted", timeout=5)
    assert info.value.kind == "playback" and "PlaybackFinished" in str(info.value)
    ch.hangup()


def test_a_real_timeout_is_still_a_timeout(client):
    ch = client.channels.originate(endpoint="Local/1000@default")
    ch.wait("StasisStart", timeout=5)
    with pytest.raises(errors.Timeout):
        ch.wait("ChannelDtmfReceived", timeout=0.2)
    ch.hangup()
    ch.wait("ChannelDestroyed", timeout=5)


# ------------------------------------------------------------------ events of things on a channel

def test_playback_recording_and_snoop_events_reach_the_channel(fast_proxy, client):
    ch = client.channels.originate(endpoint="Local/1000@default")
    ch.wait("StasisStart", timeout=5)
    other = client.new()   # a subscriber that created none of these
    try:
        sub = other.channels.handle(ch.id).subscribe()
        other.bus.flush()
        pb = ch.play("sound:beep")
        pb.wait("PlaybackFinished", timeout=5)
        rec = ch.record(name="note-1", terminate_on="#")
        rec.wait("RecordingStarted", timeout=5)
        fast_proxy.sim.send_dtmf(ch.id, "#")
        rec.wait("RecordingFinished", timeout=5)
        snoop = ch.snoop(spy="in")
        snoop.wait("StasisStart", timeout=5)
        snoop.hangup()
        snoop.wait("StasisEnd", timeout=5)   # (a real Asterisk sends nothing after a snoop's StasisEnd)
        wait_for(lambda: "StasisEnd" in [e.type for e in list(sub._queue)], 5.0)
        seen = [e.type for e in sub.drain()]
        for t in ("PlaybackStarted", "PlaybackFinished", "RecordingStarted", "ChannelDtmfReceived",
                  "RecordingFinished", "StasisStart", "StasisEnd"):
            assert t in seen, (t, seen)
        # the snoop's end does not end the channel's subscription
        assert not sub.closed
        ch.hangup()
        with pytest.raises(errors.HungUp):
            sub.wait("ChannelDtmfReceived", timeout=5)
    finally:
        other.close()


# ------------------------------------------------------------------ listen()

def test_listen_does_not_hand_over_own_channels_unless_asked(fast_proxy, client):
    calls = []
    listener = client.listen(lambda ch, ev: calls.append(ch.id))
    client.bus.flush()
    mine = client.channels.originate(endpoint="Local/1000@default")
    mine.wait("StasisStart", timeout=5)
    incoming = fast_proxy.sim.incoming_call(fast_proxy.application, caller="5551000")
    wait_for(lambda: calls, 5.0)
    assert calls == [incoming] and listener.skipped_own == 1
    listener.close()
    with client.listen(lambda ch, ev: calls.append(ch.id), include_own=True):
        client.bus.flush()
        again = client.channels.originate(endpoint="Local/1000@default")
        wait_for(lambda: again.id in calls, 5.0)
    for ch in (mine, again):
        ch.hangup()
    fast_proxy.sim.hangup(incoming)


def test_an_originate_from_inside_the_handler_stays_with_the_handler(fast_proxy, client):
    handled, outbound = [], []
    done = GEvent()

    def handler(channel, event, call_client):
        handled.append(channel.id)
        assert call_client is channel.client
        leg = call_client.channels.originate(endpoint="Local/1000@default")
        leg.wait("StasisStart", timeout=5)
        outbound.append(leg.id)
        leg.hangup()
        channel.hangup()
        done.set()

    with client.listen(handler, child=True) as listener:
        client.bus.flush()
        fast_proxy.sim.incoming_call(fast_proxy.application)
        assert done.wait(10)
        listener.join(5)
        assert len(handled) == 1 and outbound and outbound[0] not in handled
        assert listener.skipped_own == 1
        # the per-call child was closed with the handler: nothing of it left
        assert listener.running == 0
    assert client.subscriptions == 0


def test_child_per_call_releases_the_handlers_subscriptions(fast_proxy, client):
    seen = []
    release = GEvent()

    def handler(channel, event, call_client):
        seen.append(call_client)
        call_client.subscribe("ChannelDtmfReceived", key=channel)
        channel.subscribe()
        release.wait(10)

    before = _routes(client)
    with client.listen(handler, child=True) as listener:
        client.bus.flush()
        cid = fast_proxy.sim.incoming_call(fast_proxy.application)
        wait_for(lambda: seen and seen[0].subscriptions >= 3, 5.0)   # the call's, and the handler's two
        call_client = seen[0]
        assert call_client is not client and not call_client.closed
        release.set()
        listener.join(5)
        assert call_client.closed
    assert _routes(client) == before
    fast_proxy.sim.hangup(cid)


def test_a_failing_handler_gets_its_call_hung_up_and_logged(fast_proxy, client, caplog):
    def handler(channel, event):
        raise RuntimeError("bug in the application")

    with caplog.at_level(logging.ERROR, logger="ariproxy.client"):
        with client.listen(handler) as listener:
            client.bus.flush()
            cid = fast_proxy.sim.incoming_call(fast_proxy.application)
            wait_for(lambda: listener.failed == 1, 5.0)
            wait_for(lambda: cid not in fast_proxy.sim.channels, 5.0)
    assert any("bug in the application" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert any("hanging it up" in r.getMessage() for r in caplog.records)


def test_a_failing_handler_can_continue_the_call_in_the_dialplan(fast_proxy, client):
    def handler(channel, event):
        raise ValueError("no idea what to do")

    with client.listen(handler, on_error="continue") as listener:
        client.bus.flush()
        watch = client.subscribe("StasisEnd")
        cid = fast_proxy.sim.incoming_call(fast_proxy.application)
        end = watch.get(timeout=5)
        assert end["channel"]["id"] == cid and listener.failed == 1
        assert cid in fast_proxy.sim.channels   # still up, back in the dialplan
    fast_proxy.sim.hangup(cid)


def test_a_handler_whose_call_hung_up_is_not_a_failure(fast_proxy, client, caplog):
    started = GEvent()

    def handler(channel, event):
        channel.answer()
        started.set()
        channel.wait("ChannelDtmfReceived", timeout=10)   # the caller hangs up instead

    with caplog.at_level(logging.INFO, logger="ariproxy.client"):
        with client.listen(handler) as listener:
            client.bus.flush()
            cid = fast_proxy.sim.incoming_call(fast_proxy.application)
            assert started.wait(5)
            fast_proxy.sim.hangup(cid)
            wait_for(lambda: any("ended" in r.getMessage() for r in caplog.records), 5.0)
            listener.join(5)
            assert listener.failed == 0


def test_listen_refuses_bad_options(client):
    with pytest.raises(errors.ValidationError):
        client.listen(lambda ch, ev: None, on_error="explode")
    with pytest.raises(errors.ValidationError):
        client.listen("not callable")
    assert client.subscriptions == 0
