"""``ariproxy.ext.record`` on the simulator through a real server and nats-server: ended by a key,
by silence, by its maximum duration, by the helper's timeout, by a hang-up; keep/discard; a killed
greenlet stops the recording; no subscription left behind."""
import gevent
import pytest

from ariproxy.errors import ValidationError
from ariproxy.ext import record
from ariproxy.ext.record import HANGUP, KEY, MAX_DURATION, SILENCE, TIMEOUT
from tests.support.calls import answered_call, client, fast_proxy, subscription_count  # noqa: F401
from tests.support.wait import wait_for


def _recording(sim):
    return [r for r in sim.asterisk.live_recordings.values() if r.live]


def test_record_until_the_terminate_key(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(record, ch, name="msg-key", beep=False, terminate_on="#")
    wait_for(lambda: _recording(fast_proxy.sim), 5.0)
    fast_proxy.sim.send_dtmf(ch.id, "1#", between=0.2)
    result = runner.get(timeout=10)
    assert (result.reason, result.digit, result.name, result.kept) == (KEY, "#", "msg-key", True)
    assert result.recording.id == "msg-key" and result.duration is not None
    assert "msg-key" in fast_proxy.sim.stored_recordings
    assert subscription_count(client) == before
    ch.hangup()


def test_record_ends_on_silence_after_the_beep(fast_proxy, client):
    ch = answered_call(client)
    result = record(ch, name="msg-quiet", beep=True, max_silence=1, timeout=10)
    assert result.reason == SILENCE and result.duration >= 0 and result.kept
    ch.hangup()


def test_record_ends_at_its_maximum_duration(fast_proxy, client):
    ch = answered_call(client)
    result = record(ch, name="msg-long", beep=False, max_duration=2, timeout=10)
    assert result.reason == MAX_DURATION and result.duration >= 1
    ch.hangup()


def test_record_timeout_stops_it(fast_proxy, client):
    ch = answered_call(client)
    result = record(ch, name="msg-cut", beep=False, timeout=0.2)
    assert result.reason == TIMEOUT and result.kept
    assert fast_proxy.sim.live_recordings == {} and "msg-cut" in fast_proxy.sim.stored_recordings
    ch.hangup()


def test_keep_false_deletes_the_recording(fast_proxy, client):
    ch = answered_call(client)
    runner = gevent.spawn(record, ch, name="msg-gone", beep=False, keep=False, timeout=10)
    wait_for(lambda: _recording(fast_proxy.sim), 5.0)
    fast_proxy.sim.send_dtmf(ch.id, "#")
    result = runner.get(timeout=10)
    assert result.reason == KEY and result.recording is None and not result.kept
    assert result.duration is not None
    wait_for(lambda: "msg-gone" not in fast_proxy.sim.stored_recordings, 5.0)
    ch.hangup()


@pytest.mark.parametrize("keep_on_hangup", [True, False])
def test_hangup_in_the_middle_of_a_recording(fast_proxy, client, keep_on_hangup):
    ch = answered_call(client)
    before = subscription_count(client)
    name = "msg-hup-%s" % keep_on_hangup
    runner = gevent.spawn(record, ch, name=name, beep=False, keep_on_hangup=keep_on_hangup)
    wait_for(lambda: _recording(fast_proxy.sim), 5.0)
    fast_proxy.sim.hangup(ch.id)
    result = runner.get(timeout=10)
    assert result.reason == HANGUP and result.kept == keep_on_hangup
    wait_for(lambda: (name in fast_proxy.sim.stored_recordings) == keep_on_hangup, 5.0)
    assert subscription_count(client) == before


def test_record_on_a_gone_channel(fast_proxy, client):
    ch = answered_call(client)
    ch.hangup()
    wait_for(lambda: ch.id not in fast_proxy.sim.channels, 5.0)
    assert record(ch, beep=False).reason == HANGUP


def test_a_killed_greenlet_stops_its_recording(fast_proxy, client):
    ch = answered_call(client)
    before = subscription_count(client)
    runner = gevent.spawn(record, ch, name="msg-killed", beep=False)
    wait_for(lambda: _recording(fast_proxy.sim), 5.0)
    runner.kill(timeout=5)
    wait_for(lambda: fast_proxy.sim.live_recordings == {}, 5.0)
    assert "msg-killed" in fast_proxy.sim.stored_recordings   # stopped: what was recorded is kept
    wait_for(lambda: subscription_count(client) == before, 5.0)
    ch.hangup()


def test_record_refuses_a_bad_key(client):
    with pytest.raises(ValidationError):
        record(client.channels.handle("x"), terminate_on="5")
