"""Call helpers: ``originate()`` and wait for the answer, ``bridge()`` two channels, ``channel_life()``
(blocking work bound to a channel's life) and the errors that say why a call was not answered.

Built on the synchronous client's public API (works against Python and Go servers); each helper
blocks only the calling greenlet.

    try:
        leg = originate(client, "PJSIP/bob", timeout=30)
    except LineBusy: ...
    except NoAnswer: ...
    br = bridge(caller, leg)
    with channel_life(caller) as call:        # a hang-up raises HungUp in this block
        call.channel.wait("ChannelLeftBridge", timeout=3600)
"""
import logging
import math

import gevent

from ariproxy.errors import ARIError, EntityDestroyed, EventGap, HungUp, NotFound, Timeout, ValidationError
from ariproxy.protocol.kinds import new_id

from ._watch import (CHANNEL_ENDS, cleanup_cut_create, deadline_after, entity_of, in_background, is_gap, is_gone,
                     probe, quietly, remaining)

__all__ = ["originate", "bridge", "channel_life", "ChannelLife", "CallNotAnswered", "LineBusy", "NoAnswer",
           "Congestion", "CallFailed", "not_answered_error"]

log = logging.getLogger("ariproxy.ext")

# Q.850 causes (and Dial statuses) by why a call was not answered
_BUSY_CAUSES = {17}
_NO_ANSWER_CAUSES = {18, 19}
_CONGESTION_CAUSES = {3, 34, 38, 41, 42, 44, 47}
_DIAL_STATUS = {"BUSY": "busy", "NOANSWER": "noanswer", "CONGESTION": "congestion", "CHANUNAVAIL": "congestion"}
#: how much longer than the originate's own timeout the helper waits for the answer
ANSWER_GRACE = 5.0


class CallNotAnswered(HungUp):
    """An originated call was not answered; ``endpoint`` is what was dialled.  ``cause``, ``cause_txt``
    and ``dialstatus`` (from ``HungUp``) tell why."""

    endpoint = ""


class LineBusy(CallNotAnswered):
    """The called party is busy (cause 17 or Dial status BUSY)."""


class NoAnswer(CallNotAnswered):
    """Nobody answered in time (causes 18/19, Dial status NOANSWER, or the helper's own wait ran out)."""


class Congestion(CallNotAnswered):
    """The network could not place the call (cause 34 and similar, Dial status CONGESTION/CHANUNAVAIL)."""


class CallFailed(CallNotAnswered):
    """Any other reason: the originate was refused, or the call ended with another cause."""


def not_answered_error(endpoint, hung_up):
    """The ``CallNotAnswered`` subclass for a ``HungUp`` raised while waiting for an originate's answer."""
    why = _DIAL_STATUS.get(hung_up.dialstatus or "")
    cause = hung_up.cause
    if why is None:
        if cause in _BUSY_CAUSES:
            why = "busy"
        elif cause in _NO_ANSWER_CAUSES:
            why = "noanswer"
        elif cause in _CONGESTION_CAUSES:
            why = "congestion"
    cls, text = {"busy": (LineBusy, "busy"), "noanswer": (NoAnswer, "not answered"),
                 "congestion": (Congestion, "congested")}.get(why, (CallFailed, "failed"))
    detail = "cause %s: %s" % (cause, hung_up.cause_txt or "?") if cause is not None else "no cause"
    if is_gap(hung_up.event):
        detail = "it ended while events were lost: cause unknown"
    if hung_up.dialstatus:
        detail += "; dial status %s" % hung_up.dialstatus
    exc = cls("call to %s %s (%s)" % (endpoint, text, detail), hung_up.kind, hung_up.id, hung_up.event, cause,
              hung_up.cause_txt, hung_up.dialstatus, hung_up.waited_for)
    exc.endpoint = endpoint
    return exc


def originate(client, endpoint, timeout=30, app=None, **options):
    """Originate ``endpoint`` into Stasis (``app``, default the client's) and block until it is
    answered (its StasisStart); returns the Channel (subscribed since before the request).

    ``timeout`` (seconds) is the originate's ring time; the helper waits that long plus a grace.
    Raises ``LineBusy``, ``NoAnswer``, ``Congestion`` or ``CallFailed`` (all ``CallNotAnswered``,
    a ``HungUp``) saying why, from the Dial status and the hangup cause; a refused originate raises
    ``CallFailed`` with the server's error as its ``__cause__``.  If no answer comes in time, or the
    calling greenlet is killed, the call is hung up.  Other ``options`` go to
    ``client.channels.originate`` (``caller_id``, ``variables``, ``channel_id``, ``node``, ...).
    When events may have been lost while it rings (a gap marker) it asks Asterisk: a channel that
    is Up was answered (returned), one that is gone raises ``CallFailed`` (cause unknown), one still
    ringing is waited for as before.
    """
    if not timeout or timeout <= 0:
        raise ValidationError("timeout must be a positive number of seconds", "timeout")
    options["channel_id"] = options.get("channel_id") or new_id("channel")
    try:
        ch = client.channels.originate(endpoint=endpoint, timeout=int(math.ceil(timeout)), app=app, **options)
    except ARIError as exc:
        err = CallFailed("call to %s failed: %s" % (endpoint, exc), "channel", options["channel_id"])
        err.endpoint = endpoint
        raise err from exc
    except BaseException:
        # killed (or timed out) while the request was in flight: the call may be ringing already
        cut = client.channels.handle(options["channel_id"], node=options.get("node"))
        cleanup_cut_create(cut.hangup, "hanging up %s" % cut.id)
        raise
    deadline = deadline_after(timeout + ANSWER_GRACE)
    try:
        while True:
            try:
                ch.wait("StasisStart", timeout=remaining(deadline))
                break
            except EventGap as gap:
                # the answer (or the end) may be among the lost events: ask Asterisk
                data = probe(ch, deadline)
                if data is None:
                    raise HungUp("channel %s ended while events were lost (cause unknown)" % ch.id, "channel",
                                 ch.id, gap.event) from None
                if isinstance(data, dict) and data.get("state") == "Up":
                    break   # answered: it is in Stasis, its StasisStart was lost
    except HungUp as exc:
        ch.close()
        raise not_answered_error(endpoint, exc) from None
    except Timeout:
        quietly(ch.hangup, "hanging up unanswered %s" % ch.id)
        ch.close()
        err = NoAnswer("call to %s not answered within %ss" % (endpoint, timeout), "channel", ch.id)
        err.endpoint = endpoint
        raise err from None
    except BaseException:
        in_background(ch.hangup, "hanging up %s" % ch.id)
        raise
    return ch


def bridge(a, b, type="mixing", bridge_id=None, timeout=10.0):
    """Create a bridge on ``a``'s node and put channels ``a`` and ``b`` in it; blocks until both
    have entered (up to ``timeout`` seconds) and returns the Bridge.

    If either channel is gone (or does not enter in time) the bridge is destroyed and ``HungUp``
    (for that channel) or ``Timeout`` is raised.  After lost events (a gap marker) the bridge's
    members are read instead of waiting for their ChannelEnteredBridge.
    """
    client = a.client
    bridge_id = bridge_id or new_id("bridge")
    try:
        br = client.bridges.create(type=type, bridge_id=bridge_id, node=a.node or None)
    except ARIError:
        raise   # refused (e.g. the id exists): nothing of ours to clean up
    except BaseException:
        cut = client.bridges.handle(bridge_id, node=a.node or None)
        cleanup_cut_create(cut.destroy, "destroying bridge %s" % bridge_id)
        raise
    sub = br.subscribe("ChannelEnteredBridge")
    try:
        for ch in (a, b):
            try:
                br.add_channel(ch)
            except ARIError:
                # a gone channel is a 400 "Channel not found" here: tell a hang-up from other errors
                if not is_gone(ch):
                    raise
                raise HungUp("channel %s is gone: cannot bridge it" % ch.id, "channel", ch.id) from None
        wanted = {a.id, b.id}
        while wanted:
            try:
                event = sub.get(timeout)
            except Timeout:
                raise Timeout("channels %s did not enter bridge %s within %ss"
                              % (", ".join(sorted(wanted)), br.id, timeout)) from None
            if is_gap(event):
                _bridge_after_gap(br, (a, b), wanted, event, deadline_after(timeout))
            else:
                wanted.discard(entity_of(event, "channel"))
        return br
    except BaseException:
        in_background(br.destroy, "destroying bridge %s" % br.id)
        raise
    finally:
        sub.close()
        br.close()



def _bridge_after_gap(br, channels, wanted, marker, deadline):
    """Events may have been lost while channels entered ``br``: read its members instead (a gone
    bridge raises ``EntityDestroyed``, a gone channel ``HungUp``; no answer by ``deadline``: wait on)."""
    data = probe(br, deadline)
    if data is None:
        raise EntityDestroyed("bridge %s was destroyed while events were lost" % br.id, "bridge", br.id, marker)
    if not isinstance(data, dict):
        return
    wanted.difference_update(c for c in data.get("channels") or [] if isinstance(c, str))
    for ch in channels:
        if ch.id in wanted and probe(ch, deadline) is None:
            raise HungUp("channel %s hung up while events were lost: cannot bridge it" % ch.id, "channel", ch.id,
                         marker)


class ChannelLife:
    """``with channel_life(channel) as call:`` binds the block to the channel's life.

    When the channel hangs up (or leaves Stasis), ``HungUp`` (with the cause) is raised in the
    greenlet that entered the block, wherever it waits: a request, a ``wait()``, a ``prompt()``...
    (a helper that saw the hang-up itself lets that exception through rather than return).
    ``call.channel`` is the channel; ``call.client`` a child client whose subscriptions (and the
    block's own watch) are all closed when the block exits; handles made through ``call.client``
    cannot send requests afterwards.  ``hangup_on_exit=True`` hangs the channel up when the block
    ends without the channel having hung up.  Entering checks the channel exists (one request) and
    raises ``HungUp`` if it is gone.  When events may have been lost (a gap marker) it asks
    Asterisk whether the channel is still there, and raises ``HungUp`` (cause None, ``event`` the
    marker) if not; ``ended`` is then the marker.
    """

    def __init__(self, channel, hangup_on_exit=False):
        self._parent = channel
        self.hangup_on_exit = hangup_on_exit
        self.client = None
        self.channel = None
        self.ended = None    # the event that ended the channel
        self._greenlet = None
        self._watcher = None
        self._sub = None
        self._exiting = False
        self._fired = False

    def __enter__(self):
        self._greenlet = gevent.getcurrent()
        self.client = self._parent.client.new()
        try:
            self.channel = self._parent
            self._sub = self.client.subscribe(*CHANNEL_ENDS, key=self.channel)
            try:
                self.channel.data()
            except NotFound:
                raise HungUp("channel %s is already gone" % self.channel.id, "channel", self.channel.id) from None
            self._watcher = gevent.spawn(self._watch)
        except BaseException:
            self.client.close()
            raise
        return self

    def _watch(self):
        for event in self._sub:
            if is_gap(event):
                # its end may be among the lost events: is the channel still there?
                if probe(self.channel) is not None:
                    continue
            elif entity_of(event, "channel") != self.channel.id:
                continue
            self.ended = event
            if self._exiting:
                return
            cause = event.body.get("cause")
            self._fired = True
            if is_gap(event):
                what = "is gone (it ended while events were lost)"
            else:
                what = "left Stasis" if event.type == "StasisEnd" else "hung up"
            detail = "" if cause is None else " (cause %s)" % cause
            gevent.kill(self._greenlet, HungUp("channel %s %s%s" % (self.channel.id, what, detail), "channel",
                                               self.channel.id, event, cause, event.body.get("cause_txt") or ""))
            return

    def __exit__(self, exc_type, exc, tb):
        self._exiting = True
        if self._watcher is not None:
            self._watcher.kill(block=False)
        if self._fired and exc_type is None:
            # the block finished just as the channel hung up: take the exception still on its way
            try:
                gevent.sleep(0)
            except HungUp:
                pass
        try:
            if self.hangup_on_exit and self.ended is None:
                quietly(self.channel.hangup, "hanging up %s" % self.channel.id)
        finally:
            self.client.close()
        return False


def channel_life(channel, hangup_on_exit=False):
    """A ``ChannelLife`` context manager for ``channel`` (see there)."""
    return ChannelLife(channel, hangup_on_exit=hangup_on_exit)
