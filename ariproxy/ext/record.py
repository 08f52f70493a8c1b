"""Record a caller's message: ``record()``.

Blocks the calling greenlet until the recording is over and returns a ``RecordResult``: the stored
recording (a ``StoredRecording`` handle, or None when it was discarded), its duration and why it
ended.  Built on the client's public API (works against Python and Go servers).

    msg = record(channel, beep=True, max_duration=60, max_silence=5, terminate_on="#")
    if msg.recording is not None:
        play(channel, "recording:" + msg.name)
"""
from ariproxy.errors import ARIError, Conflict, NotFound, ValidationError
from ariproxy.protocol.kinds import new_id

from ._watch import (UNKNOWN, Watch, cleanup_cut_create, clock, deadline_after, earliest, in_background, is_gap,
                     is_gone, log, probe, quietly, remaining, settle)

__all__ = ["record", "RecordResult", "KEY", "SILENCE", "MAX_DURATION", "HANGUP", "TIMEOUT", "FAILED", "STOPPED",
           "GAP"]

KEY = "key"                    #: the caller pressed a ``terminate_on`` key
SILENCE = "silence"            #: ``max_silence`` seconds without talk
MAX_DURATION = "max_duration"  #: ``max_duration`` reached
HANGUP = "hangup"              #: the caller hung up (or the channel left Stasis)
TIMEOUT = "timeout"            #: the helper's own ``timeout`` ran out (it stopped the recording)
FAILED = "failed"              #: Asterisk could not record (RecordingFailed, or the request failed)
STOPPED = "stopped"            #: someone else stopped (or scrapped) it
GAP = "gap"                    #: it ended while events were lost: how (key, silence, maximum, stop) is unknown

#: after the helper stops a recording, how long it waits for RecordingFinished
STOP_GRACE = 3.0
#: how long after a hang-up the RecordingFinished may take (Asterisk ends the recording itself)
HANGUP_GRACE = 3.0


class RecordResult:
    """``reason`` (KEY, SILENCE, MAX_DURATION, HANGUP, TIMEOUT, FAILED, STOPPED, GAP), ``name``, ``format``,
    ``duration`` (seconds, None if unknown), ``recording`` (StoredRecording handle or None when
    discarded or not stored), ``digit`` (the terminating key) and ``event`` (the last recording event,
    or the gap marker when the recording ended while events were lost)."""

    def __init__(self, reason, name, format, duration=None, recording=None, digit="", event=None):
        self.reason = reason
        self.name = name
        self.format = format
        self.duration = duration
        self.recording = recording
        self.digit = digit
        self.event = event

    @property
    def kept(self):
        """True when a stored recording is left."""
        return self.recording is not None

    def __repr__(self):
        return "<RecordResult %s %s duration=%s%s>" % (self.reason, self.name, self.duration,
                                                       "" if self.kept else " discarded")


def record(channel, name=None, format="wav", max_duration=0, max_silence=0, beep=True, terminate_on="#",
           if_exists="overwrite", timeout=None, keep=True, keep_on_hangup=True):
    """Record ``channel`` until a ``terminate_on`` key (``#``, ``*``, ``any`` or ``none``),
    ``max_silence`` seconds of silence, ``max_duration`` seconds, a hang-up, or the helper's own
    ``timeout`` (seconds, then it stops the recording).  ``beep`` plays a beep first.

    Blocks until the recording is finished and stored.  ``keep=False`` deletes the stored recording
    before returning (``recording`` is None, ``duration`` still says how long it was);
    ``keep_on_hangup=False`` deletes it when the caller hung up.  A killed greenlet stops the
    recording (what was recorded is stored).  Returns a ``RecordResult``.

    When events may have been lost (a gap marker) it asks Asterisk: a live recording still there is
    waited for as before; one that is gone ended meanwhile, and the stored recording (if Asterisk
    kept one) is the result, with ``duration`` None and reason HANGUP when the channel is gone too,
    KEY when its terminating key was seen before the gap, the helper's own reason when it had
    stopped it (TIMEOUT, HANGUP), else GAP.
    """
    if terminate_on not in ("none", "any", "*", "#", "", None):
        raise ValidationError("terminate_on must be none, any, * or #, not %r" % (terminate_on,), "terminate_on")
    terminate_on = terminate_on or "none"
    name = name or new_id("liverecording")
    watch = Watch(channel)
    try:
        try:
            live = channel.record(name=name, format=format, max_duration=max_duration, max_silence=max_silence,
                                  if_exists=if_exists, beep=beep, terminate_on=terminate_on)
        except (NotFound, Conflict):
            if watch.ended is not None or is_gone(channel):
                return RecordResult(HANGUP, name, format)
            raise
        except ARIError:
            raise   # refused (e.g. a recording of that name is in progress): nothing of ours to stop
        except BaseException:
            # killed while the request was in flight: the recording may exist already
            cut = channel.client.live_recordings.handle(name, node=channel.node or None)
            cleanup_cut_create(cut.stop, "stopping recording %s" % name)
            raise
        try:
            reason, digit, event = _follow(watch, live, terminate_on, deadline_after(timeout))
        except BaseException:
            in_background(live.stop, "stopping recording %s" % name)
            raise
        finally:
            live.close()
        duration = None
        if event is not None and not is_gap(event):
            duration = (event.body.get("recording") or {}).get("duration")
        reason = _why(reason, duration, max_duration, max_silence)
        if reason == HANGUP:
            settle()
        stored = None
        if is_gap(event):
            # it ended while its RecordingFinished may have been lost: is there a stored recording?
            handle = channel.client.stored_recordings.handle(name, node=channel.node)
            found = probe(handle)
            if found is UNKNOWN:
                log.warning("recording %s ended while events were lost; whether it was stored is unknown", name)
            elif found is not None:
                stored = handle
        elif reason != FAILED and event is not None and event.type == "RecordingFinished" \
                and (event.body.get("recording") or {}).get("state") != "canceled":
            stored = channel.client.stored_recordings.handle(name, node=channel.node)
        if stored is not None:
            if not keep or (reason == HANGUP and not keep_on_hangup):
                quietly(stored.delete, "deleting recording %s" % name)
                stored = None
        return RecordResult(reason, name, format, duration, stored, digit, event)
    finally:
        watch.close()



def _follow(watch, live, terminate_on, deadline):
    """Read until the recording ends; returns (reason or None, terminating digit, last recording event)."""
    name = live.id
    reason = None
    digit = ""
    stop_by = None
    last_key = None
    while True:
        limit = earliest(deadline if stop_by is None else None, stop_by)
        event = watch.get(remaining(limit))
        if event is None:
            if stop_by is not None:
                return reason, digit, None   # stopped, but its end never came
            reason = TIMEOUT
            stop_by = clock() + STOP_GRACE
            quietly(live.stop, "stopping recording %s after the timeout" % name)
            continue
        if watch.is_gap(event):
            if probe(live, earliest(deadline, stop_by)) is not None:
                continue    # still recording (or no answer): its end is still to come
            # it ended while its RecordingFinished or RecordingFailed may have been lost
            if reason is None and last_key is not None:
                reason, digit = KEY, last_key
            if reason is None:
                if probe(watch.target, deadline) is None:
                    watch.found_gone(event)
                    reason = HANGUP
                else:
                    reason = GAP
            return reason, digit, event
        if event.type in ("RecordingFinished", "RecordingFailed") \
                and (event.body.get("recording") or {}).get("name") == name:
            if event.type == "RecordingFailed":
                return FAILED, digit, event
            state = event.body["recording"].get("state")
            if reason is None and state == "canceled":
                reason = STOPPED
            if reason is None and last_key is not None:
                reason, digit = KEY, last_key
            return reason, digit, event
        if watch.is_dtmf(event):
            key = event.body.get("digit") or ""
            if terminate_on == "any" or key == terminate_on:
                last_key = key
        elif event is watch.ended and reason is None:
            reason = HANGUP
            stop_by = clock() + HANGUP_GRACE


def _why(reason, duration, max_duration, max_silence):
    """Why a recording that finished on its own ended (RecordingFinished does not say)."""
    if reason is not None:
        return reason
    if max_duration and duration is not None and duration >= max_duration - 1:
        return MAX_DURATION
    if max_silence:
        return SILENCE
    return STOPPED
