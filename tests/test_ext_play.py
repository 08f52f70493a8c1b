"""``ariproxy.ext.play`` / ``prompt`` on the simulator through a real server and nats-server.

Normal paths, each timeout, replays, barge-in and type-ahead, hang-ups in the middle, a killed
greenlet stopping its playback, and no subscription left behind (counted after each helper).
"""
import gevent
import pytest

from ariproxy.errors import ValidationError
from ariproxy.ext import (COMPLETE, FAILED, FINISHED, HUNGUP, INVALID, TIMEOUT, play, prompt)
from tests.support.calls import answered_call, client, fast_proxy, requests_to, subscription_count  # noqa: F401
from tests.support.wait import wait_for


def _playing(sim):
    return [p for p in sim.playbacks.values() if p["state"] == "playing"]


# ------------------------------------------------------------------ play

def test_play_a_sequence_to_the_end(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    result = play(ch, "sound:beep", ["sound:digits/1", "sound:digits/2"], timeout=10)
    assert result.status == FINISHED and result.ok and len(result.playbacks) == 1
    assert fast_proxy.sim.playbacks == {}
    assert subscription_count(client) == before
    ch.hangup()


def test_play_on_a_bridge(fast_proxy, client):
    ch = answered_call(client)
    br = client.bridges.create()
    br.add_channel(ch)
    result = play(br, "sound:beep", timeout=10)
    assert result.status == FINISHED
    ch.hangup()
    br.destroy()


def test_play_times_out_and_stops_the_playback(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    result = play(ch, "tone:ring", timeout=0.3)
    assert result.status == TIMEOUT
    wait_for(lambda: fast_proxy.sim.playbacks == {}, 5.0)
    assert len(requests_to(fast_proxy.sim, "DELETE", "/playbacks/")) == 1
    assert subscription_count(client) == before
    ch.hangup()


def test_hangup_in_the_middle_of_a_play_sequence(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(play, ch, "sound:beep", "tone:ring", "sound:beep", timeout=30)
    wait_for(lambda: any(p["media_uri"] == "tone:ring" for p in _playing(fast_proxy.sim)), 5.0)
    fast_proxy.sim.hangup(ch.id)
    result = runner.get(timeout=10)
    assert result.status == HUNGUP
    assert fast_proxy.sim.playbacks == {}
    assert subscription_count(client) == before


def test_a_killed_greenlet_stops_its_playback(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(play, ch, "tone:ring")
    wait_for(lambda: _playing(fast_proxy.sim), 5.0)
    runner.kill(timeout=5)
    wait_for(lambda: fast_proxy.sim.playbacks == {}, 5.0)
    wait_for(lambda: subscription_count(client) == before, 5.0)
    ch.hangup()


def test_play_failures(fast_proxy, client):
    ch = answered_call(client)
    assert play(ch, "sound:no-such-sound", timeout=10).status == FAILED
    with pytest.raises(ValidationError):
        play(ch)
    with pytest.raises(ValidationError):
        play(ch, "")
    ch.hangup()
    wait_for(lambda: ch.id not in fast_proxy.sim.channels, 5.0)
    assert play(ch, "sound:beep", timeout=10).status == HUNGUP


# ------------------------------------------------------------------ prompt: normal paths

def test_prompt_collects_a_number_of_digits_after_the_prompt(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    fast_proxy.sim.send_dtmf(ch.id, "1234", at=3.0, between=0.5)       # after conf-getpin's 2.3 s
    answer = prompt(ch, "sound:conf-getpin", max_digits=4, first_digit_timeout=5, inter_digit_timeout=5)
    assert (answer.status, answer.digits, answer.terminator, answer.plays) == (COMPLETE, "1234", "", 1)
    assert answer.ok
    assert subscription_count(client) == before
    ch.hangup()


def test_prompt_ends_on_a_terminator(fast_proxy, client):
    ch = answered_call(client)
    fast_proxy.sim.send_dtmf(ch.id, "42#9", at=1.0, between=0.2)
    answer = prompt(ch, "sound:beep", terminators="#*")
    assert (answer.status, answer.digits, answer.terminator) == (COMPLETE, "42", "#")
    ch.hangup()


def test_a_digit_during_the_prompt_stops_it_and_counts(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(prompt, ch, "tone:ring", max_digits=2, inter_digit_timeout=5)
    wait_for(lambda: _playing(fast_proxy.sim), 5.0)
    fast_proxy.sim.send_dtmf(ch.id, "7")
    wait_for(lambda: fast_proxy.sim.playbacks == {}, 5.0)                # barge-in stopped the prompt
    fast_proxy.sim.send_dtmf(ch.id, "3")
    answer = runner.get(timeout=10)
    assert (answer.status, answer.digits) == (COMPLETE, "73")
    assert len(requests_to(fast_proxy.sim, "DELETE", "/playbacks/")) == 1
    assert subscription_count(client) == before
    ch.hangup()


def test_digits_pressed_while_the_prompt_is_being_started_are_kept(fast_proxy, client):
    ch = answered_call(client)
    sim = fast_proxy.sim
    watch_client = client.new()
    watcher = watch_client.subscribe("ChannelDtmfReceived")
    sim.set_delay(60000)    # the play request is held until released below
    try:
        runner = gevent.spawn(prompt, ch, "tone:ring", max_digits=1)
        wait_for(lambda: requests_to(sim, "POST", "/play"), 5.0)
        sim.send_dtmf(ch.id, "5")
        wait_for(lambda: sim.asterisk.events_sent and any(
            e.type == "ChannelDtmfReceived" for e in watcher.drain()), 5.0)
    finally:
        sim.set_delay(0)
        watch_client.close()
    answer = runner.get(timeout=10)
    assert (answer.status, answer.digits) == (COMPLETE, "5")
    wait_for(lambda: sim.playbacks == {}, 5.0)   # and the prompt that was starting got stopped
    ch.hangup()


def test_without_barge_in_the_prompt_plays_on(fast_proxy, client):
    ch = answered_call(client)
    runner = gevent.spawn(prompt, ch, "sound:tt-monkeys", barge_in=False, inter_digit_timeout=0.3)
    wait_for(lambda: _playing(fast_proxy.sim), 5.0)
    fast_proxy.sim.send_dtmf(ch.id, "8")
    answer = runner.get(timeout=10)
    assert (answer.status, answer.digits) == (COMPLETE, "8")    # a pause ends input without a rule
    assert requests_to(fast_proxy.sim, "DELETE", "/playbacks/") == []
    ch.hangup()


@pytest.mark.parametrize("match, digits, status", [
    (3, "123", COMPLETE),
    (r"1\d\d", "123", COMPLETE),
    (r"1\d\d", "2#", INVALID),
    (lambda d: d in ("11", "22"), "22", COMPLETE),
])
def test_prompt_match_rules(fast_proxy, client, match, digits, status):
    ch = answered_call(client)
    fast_proxy.sim.send_dtmf(ch.id, digits, at=1.0, between=0.2)
    answer = prompt(ch, "sound:beep", match=match, inter_digit_timeout=5)
    assert answer.status == status and answer.digits == digits.rstrip("#")
    ch.hangup()


def test_prompt_refuses_bad_arguments(client):
    ch = client.channels.handle("whatever")
    for kwargs in ({"match": 0}, {"match": 1.5}, {"match": True}, {"max_digits": 0}):
        with pytest.raises(ValidationError):
            prompt(ch, "sound:beep", **kwargs)
    assert subscription_count(client)[0] == 0


# ------------------------------------------------------------------ prompt: timeouts and replays

def test_first_digit_timeout(fast_proxy, client):
    ch = answered_call(client)
    answer = prompt(ch, "sound:beep", max_digits=4, first_digit_timeout=0.2)
    assert (answer.status, answer.digits, answer.plays) == (TIMEOUT, "", 1)
    ch.hangup()


def test_inter_digit_timeout(fast_proxy, client):
    ch = answered_call(client)
    fast_proxy.sim.send_dtmf(ch.id, "12", at=1.0, between=0.1)
    answer = prompt(ch, "sound:beep", max_digits=4, first_digit_timeout=10, inter_digit_timeout=0.3)
    assert (answer.status, answer.digits) == (TIMEOUT, "12")
    ch.hangup()


def test_overall_timeout_stops_the_prompt(fast_proxy, client):
    ch = answered_call(client)
    answer = prompt(ch, "tone:ring", max_digits=4, overall_timeout=0.3)
    assert answer.status == TIMEOUT
    wait_for(lambda: fast_proxy.sim.playbacks == {}, 5.0)
    ch.hangup()


def test_replays_when_nothing_is_entered(fast_proxy, client):
    ch = answered_call(client)
    answer = prompt(ch, "sound:beep", max_digits=2, first_digit_timeout=0.15, replays=2)
    assert (answer.status, answer.plays, len(answer.playbacks)) == (TIMEOUT, 3, 3)
    ch.hangup()


def _press_on_play(sim, client, ch, n, digits):
    """Press ``digits`` once the prompt's ``n``-th playback has started (a scripted caller)."""
    watcher = client.new()
    sub = watcher.subscribe("PlaybackStarted")

    def run():
        try:
            for _ in range(n):
                sub.get(timeout=10)
            sim.send_dtmf(ch.id, digits, between=0.2)
        finally:
            watcher.close()
    return gevent.spawn(run)


def test_a_replay_then_input(fast_proxy, client):
    ch = answered_call(client)
    presser = _press_on_play(fast_proxy.sim, client, ch, 2, "42")
    client.bus.flush()
    answer = prompt(ch, "sound:beep", max_digits=2, first_digit_timeout=0.3, inter_digit_timeout=5, replays=3)
    presser.get(timeout=5)
    assert (answer.status, answer.digits, answer.plays) == (COMPLETE, "42", 2)
    ch.hangup()


def test_invalid_input_is_replayed(fast_proxy, client):
    ch = answered_call(client)
    fast_proxy.sim.send_dtmf(ch.id, "9#", at=1.0, between=0.2)
    presser = _press_on_play(fast_proxy.sim, client, ch, 2, "123")
    client.bus.flush()
    answer = prompt(ch, "sound:beep", match=r"1\d\d", inter_digit_timeout=5, first_digit_timeout=5, replays=1)
    presser.get(timeout=5)
    assert (answer.status, answer.digits, answer.plays) == (COMPLETE, "123", 2)
    ch.hangup()


# ------------------------------------------------------------------ prompt: hang-ups and kills

def test_hangup_in_the_middle_of_a_prompt(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(prompt, ch, "tone:ring", max_digits=4)
    wait_for(lambda: _playing(fast_proxy.sim), 5.0)
    fast_proxy.sim.send_dtmf(ch.id, "1")
    wait_for(lambda: fast_proxy.sim.playbacks == {}, 5.0)
    fast_proxy.sim.hangup(ch.id, cause=16)
    answer = runner.get(timeout=10)
    assert (answer.status, answer.digits) == (HUNGUP, "1")
    assert subscription_count(client) == before


def test_hangup_while_waiting_for_the_first_digit(fast_proxy, client):
    ch = answered_call(client)
    runner = gevent.spawn(prompt, ch, "sound:beep", max_digits=4, first_digit_timeout=30)
    wait_for(lambda: requests_to(fast_proxy.sim, "POST", "/play") and fast_proxy.sim.playbacks == {}, 5.0)
    fast_proxy.sim.hangup(ch.id)
    answer = runner.get(timeout=10)   # well before the 30 s timeout
    assert answer.status == HUNGUP


def test_a_killed_prompt_stops_its_playback(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(prompt, ch, "tone:ring", max_digits=4)
    wait_for(lambda: _playing(fast_proxy.sim), 5.0)
    runner.kill(timeout=5)
    wait_for(lambda: fast_proxy.sim.playbacks == {}, 5.0)
    wait_for(lambda: subscription_count(client) == before, 5.0)
    ch.hangup()
