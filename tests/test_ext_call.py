"""``ariproxy.ext`` call helpers on the simulator through a real server and nats-server: originate and
wait (answered, busy, no answer, congestion, failed), bridge two channels, channel_life, BridgeMonitor."""
import gevent
import pytest

from ariproxy.errors import ARIError, HungUp
from ariproxy.ext import (DESTROYED, ENTERED, LEFT, BridgeMonitor, CallFailed, CallNotAnswered, Congestion, LineBusy,
                          NoAnswer, bridge, channel_life, originate, prompt)
from ariproxy.ext import HUNGUP as PROMPT_HUNGUP
from tests.support.calls import answered_call, client, fast_proxy, subscription_count  # noqa: F401
from tests.support.wait import wait_for


# ------------------------------------------------------------------ originate

def test_originate_waits_for_the_answer(fast_proxy, client):
    ch = originate(client, "Local/1000@default", timeout=10)
    assert fast_proxy.sim.channels[ch.id]["state"] == "Up"
    ch.hangup()


@pytest.mark.parametrize("endpoint, error, cause, dialstatus", [
    ("Local/4000@default", LineBusy, 0, "BUSY"),
    ("Local/congestion@default", Congestion, 0, "CONGESTION"),
])
def test_originate_says_why_it_was_not_answered(fast_proxy, client, endpoint, error, cause, dialstatus):
    with pytest.raises(error) as info:
        originate(client, endpoint, timeout=10)
    exc = info.value
    assert isinstance(exc, CallNotAnswered) and isinstance(exc, HungUp)
    assert (exc.endpoint, exc.cause, exc.dialstatus) == (endpoint, cause, dialstatus)
    assert endpoint in str(exc) and dialstatus in str(exc)
    assert subscription_count(client) == (0, 0)


def test_originate_not_answered_in_time(fast_proxy, client):
    with pytest.raises(NoAnswer) as info:
        originate(client, "Local/3000@default", timeout=1)
    assert (info.value.cause, info.value.cause_txt) == (19, "User alerting, no answer")


def test_originate_failures(fast_proxy, client):
    with pytest.raises(CallFailed) as info:
        originate(client, "Bogus/nowhere", timeout=5)
    assert isinstance(info.value.__cause__, ARIError)
    # rejected while ringing: another cause than busy / no answer / congestion
    runner = gevent.spawn(originate, client, "Local/3000@default", timeout=30)
    wait_for(lambda: any(c["state"] == "Ringing" for c in fast_proxy.sim.channels.values()), 5.0)
    ringing = next(cid for cid, c in fast_proxy.sim.channels.items() if c["state"] == "Ringing")
    fast_proxy.sim.hangup(ringing, cause=21)
    with pytest.raises(CallFailed) as info:
        runner.get(timeout=10)
    assert info.value.cause == 21 and "Call Rejected" in str(info.value)


def test_a_killed_originate_hangs_up_its_call(fast_proxy, client):
    runner = gevent.spawn(originate, client, "Local/3000@default", timeout=30)
    wait_for(lambda: fast_proxy.sim.channels, 5.0)
    runner.kill(timeout=5)
    wait_for(lambda: fast_proxy.sim.channels == {}, 5.0)


# ------------------------------------------------------------------ bridge

def test_bridge_two_channels(fast_proxy, client):
    a = answered_call(client)
    b = originate(client, "Local/1001@default", timeout=10)
    br = bridge(a, b)
    members = fast_proxy.sim.bridges[br.id]["channels"]
    assert sorted(members) == sorted([a.id, b.id])
    a.hangup()
    b.hangup()
    br.destroy()


def test_bridge_with_a_gone_channel_destroys_the_bridge(fast_proxy, client):
    a = answered_call(client)
    b = answered_call(client)
    b.hangup()
    wait_for(lambda: b.id not in fast_proxy.sim.channels, 5.0)
    with pytest.raises(HungUp) as info:
        bridge(a, b)
    assert info.value.id == b.id
    wait_for(lambda: fast_proxy.sim.bridges == {}, 5.0)
    a.hangup()


# ------------------------------------------------------------------ channel_life

def test_channel_life_raises_in_the_waiting_code_and_cleans_up(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    outcome = []

    def work():
        try:
            with channel_life(ch) as call:
                call.client.subscribe("ChannelVarset", key=call.channel)   # released with the block
                outcome.append(call)
                call.channel.wait("ChannelDtmfReceived", timeout=60)
                outcome.append("not reached")
        except HungUp as exc:
            outcome.append(exc)

    runner = gevent.spawn(work)
    wait_for(lambda: outcome, 5.0)
    fast_proxy.sim.hangup(ch.id, cause=17)
    runner.join(10)
    call, exc = outcome
    assert isinstance(exc, HungUp) and exc.id == ch.id
    assert call.client.closed and call.ended is not None
    assert subscription_count(client) == before


def test_channel_life_ends_a_prompt_on_hangup(fast_proxy, client):
    ch = answered_call(client)
    outcome = []

    def work():
        with channel_life(ch) as call:
            outcome.append(prompt(call.channel, "tone:ring", max_digits=4))

    runner = gevent.spawn(work)
    wait_for(lambda: fast_proxy.sim.playbacks, 5.0)
    fast_proxy.sim.hangup(ch.id)
    runner.join(10)
    # either the prompt saw the hang-up first (HUNGUP) or the block was interrupted (HungUp)
    assert (outcome and outcome[0].status == PROMPT_HUNGUP) or isinstance(runner.exception, HungUp)
    wait_for(lambda: fast_proxy.sim.playbacks == {}, 5.0)
    assert subscription_count(client) == (0, 0)


def test_channel_life_normal_exit_and_hangup_on_exit(fast_proxy, client):
    ch = answered_call(client)
    with channel_life(ch) as call:
        call.channel.answer()
    assert ch.id in fast_proxy.sim.channels
    with channel_life(ch, hangup_on_exit=True):
        pass
    wait_for(lambda: ch.id not in fast_proxy.sim.channels, 5.0)
    with pytest.raises(HungUp):
        with channel_life(ch):
            pass
    assert subscription_count(client) == (0, 0)


# ------------------------------------------------------------------ BridgeMonitor

def test_bridge_monitor_follows_membership(fast_proxy, client):
    a = answered_call(client)
    b = answered_call(client)
    br = client.bridges.create()
    br.add_channel(a)
    wait_for(lambda: fast_proxy.sim.bridges[br.id]["channels"] == [a.id], 5.0)
    changes = []
    with BridgeMonitor(br, on_change=changes.append) as mon:
        assert mon.members == [a.id]
        br.add_channel(b)
        mon.wait(lambda m: len(m.members) == 2, timeout=5)
        a.hangup()
        mon.wait(lambda m: m.members == [b.id], timeout=5)
        br.remove_channel(b)
        mon.wait_empty(timeout=5)
        assert [(c.type, c.channel_id) for c in changes] == [(ENTERED, b.id), (LEFT, a.id), (LEFT, b.id)]
        br.destroy()
    assert subscription_count(client)[0] == 1   # only br's creation-time subscription is left
    br.close()
    b.hangup()


def test_bridge_monitor_sees_the_bridge_destroyed(fast_proxy, client):
    br = client.bridges.create()
    # the application hears of its bridge's end only when subscribed to it
    client.applications.handle(client.application, node=br.node).subscribe_source(br)
    with BridgeMonitor(br) as mon:
        br.destroy()
        mon.wait(lambda m: m.destroyed, timeout=5)
        assert mon.changes[-1].type == DESTROYED
    br.close()
    assert subscription_count(client) == (0, 0)
