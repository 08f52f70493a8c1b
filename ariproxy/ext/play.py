"""Play media and collect DTMF: ``play()`` and ``prompt()``.

Both block the calling greenlet (only) until they are done, and always leave nothing behind: the
playback is stopped when they return early (timeout, input complete), when the channel hangs up
(Asterisk stops it too) and when the calling greenlet is killed; their subscription is closed.
They are built on the synchronous client's public API, so they work the same against Python and Go
ari-proxy servers.

    result = play(channel, "sound:hello-world", "sound:vm-goodbye", timeout=30)
    if result.status == HUNGUP: ...
    answer = prompt(channel, "sound:conf-getpin", max_digits=4, terminators="#", replays=2)
    if answer.status == COMPLETE: use(answer.digits)
"""
import re

from ariproxy.errors import Conflict, NotFound, ValidationError
from ariproxy.protocol.kinds import new_id

from ._watch import (Watch, cleanup_cut_create, clock, deadline_after, earliest, in_background, probe, quietly,
                     remaining, settle)

__all__ = ["play", "prompt", "PlayResult", "PromptResult", "FINISHED", "HUNGUP", "STOPPED", "TIMEOUT", "FAILED",
           "COMPLETE", "INVALID", "GAP"]

FINISHED = "finished"   #: played to the end (or ended while events were lost: finished, stopped or failed)
HUNGUP = "hungup"       #: the channel hung up (or left Stasis) / the bridge was destroyed
STOPPED = "stopped"     #: stopped early by the helper (barge-in, input complete) or by someone else
TIMEOUT = "timeout"     #: a time limit ran out
FAILED = "failed"       #: Asterisk could not play the media
COMPLETE = "complete"   #: prompt: the input is complete (and matches)
INVALID = "invalid"     #: prompt: the input ended but does not match
GAP = "gap"             #: prompt: events were lost during the last attempt (digits may be missing)

#: after stopping a playback, how long to wait for its PlaybackFinished before going on
STOP_GRACE = 2.0


class PlayResult:
    """What ``play()`` did: ``status`` (FINISHED, HUNGUP, STOPPED, TIMEOUT, FAILED) and ``playbacks``
    (the Playback handles it started, one per call: the whole media list plays as one playback).
    A playback found ended after events were lost (a gap marker) is FINISHED: it finished, was
    stopped or failed, which of them is not known."""

    def __init__(self, status, playbacks=()):
        self.status = status
        self.playbacks = list(playbacks)

    @property
    def ok(self):
        """True when everything was played."""
        return self.status == FINISHED

    def __repr__(self):
        return "<PlayResult %s %s>" % (self.status, [p.id for p in self.playbacks])


class PromptResult:
    """What ``prompt()`` got: ``status`` (COMPLETE, TIMEOUT, INVALID, HUNGUP, GAP), ``digits`` (without the
    terminator), ``terminator`` (the key that ended input, or ""), ``plays`` (how often the prompt was
    played) and ``playbacks``."""

    def __init__(self, status, digits="", terminator="", plays=0, playbacks=()):
        self.status = status
        self.digits = digits
        self.terminator = terminator
        self.plays = plays
        self.playbacks = list(playbacks)

    @property
    def ok(self):
        """True when the input is complete."""
        return self.status == COMPLETE

    def __repr__(self):
        return "<PromptResult %s %r plays=%d>" % (self.status, self.digits, self.plays)


def _media_list(media):
    items = []
    for m in media:
        if isinstance(m, (list, tuple)):
            items.extend(m)
        else:
            items.append(m)
    if not items or not all(isinstance(m, str) and m for m in items):
        raise ValidationError("media must be one or more non-empty URIs (e.g. 'sound:hello-world'), not %r"
                              % (media,), "media")
    return items


def _follow(watch, media, deadline, on_event=None, abandon_on_gap=False):
    """Start one playback of ``media`` on the watched target and read events until it ends.

    ``on_event(event)`` sees every other event; returning True stops the playback (status STOPPED).
    A gap marker (events may have been lost) is answered from Asterisk's state (``_after_gap``);
    with ``abandon_on_gap`` it stops the playback and gives GAP (HUNGUP if the target is gone).
    Returns ``(status, playback or None)``.
    """
    target = watch.target
    if watch.ended is not None:
        return HUNGUP, None
    pid = new_id("playback")
    try:
        pb = target.play(media, playback_id=pid)
    except (NotFound, Conflict):   # gone, or no longer in Stasis
        return HUNGUP, None
    except BaseException:
        # killed while the request was in flight: the playback may exist already
        cut = target.client.playbacks.handle(pid, node=target.node or None)
        cleanup_cut_create(cut.stop, "stopping playback %s" % pid)
        raise
    status = None
    stop_deadline = None
    try:
        while True:
            if watch.ended is not None:
                return HUNGUP, pb   # Asterisk stops what plays on a hung-up channel itself
            limit = earliest(deadline, stop_deadline)
            event = watch.get(remaining(limit))
            if event is None:
                if stop_deadline is not None and (deadline is None or stop_deadline <= deadline):
                    return status, pb   # stopped; its PlaybackFinished did not come in time
                quietly(pb.stop, "stopping playback %s after the timeout" % pb.id)
                return TIMEOUT, pb
            if watch.is_gap(event):
                outcome = _after_gap(watch, event, pb, status, deadline, abandon_on_gap)
                if outcome is not None:
                    return outcome, pb
                continue
            if event.type == "PlaybackFinished" and (event.body.get("playback") or {}).get("id") == pb.id:
                if status is not None:
                    return status, pb
                state = event.body["playback"].get("state")
                return (FAILED if state == "failed" else FINISHED), pb
            if on_event is not None and on_event(event) and status is None:
                status = STOPPED
                stop_deadline = clock() + STOP_GRACE
                quietly(pb.stop, "stopping playback %s" % pb.id)
    except BaseException:
        # killed (GreenletExit) or an error reading: the playback must not go on without us
        in_background(pb.stop, "stopping playback %s" % pb.id)
        raise
    finally:
        pb.close()


def _after_gap(watch, marker, pb, stopped, deadline, abandon):
    """Events may have been lost (``marker``): ask Asterisk instead of waiting for them.  Returns the
    status to end with, or None to go on reading events (the stream is whole again)."""
    if abandon:
        if probe(watch.target, deadline) is None:
            watch.found_gone(marker)
            return HUNGUP
        if stopped is None:
            quietly(pb.stop, "stopping playback %s after an event gap" % pb.id)
        return GAP
    if probe(pb, deadline) is not None:
        return None     # still playing (or no answer): its end is still to come
    if stopped is not None:
        return stopped
    if probe(watch.target, deadline) is None:
        watch.found_gone(marker)
        return HUNGUP
    return FINISHED     # it ended while its PlaybackFinished was lost


def play(target, *media, timeout=None):
    """Play ``media`` (URIs, or lists of them) in order on a channel or bridge handle.

    Blocks until the whole sequence has played (FINISHED), the channel hangs up or leaves Stasis /
    the bridge is destroyed (HUNGUP), ``timeout`` seconds pass (TIMEOUT: the playback is stopped),
    or Asterisk cannot play it (FAILED).  If the calling greenlet is killed the playback is stopped
    before the exception goes on.  The subscription is made before the request, so no event is
    missed.  When events may have been lost (a gap marker) it asks Asterisk: a playback that is
    gone has ended (FINISHED: finished, stopped or failed, unknown which), or the target is gone
    (HUNGUP); one still playing is waited for as before.  Returns a ``PlayResult``.
    """
    items = _media_list(media)
    watch = Watch(target)
    try:
        status, pb = _follow(watch, items, deadline_after(timeout))
        if status == HUNGUP:
            settle()
        return PlayResult(status, [pb] if pb is not None else [])
    finally:
        watch.close()


def _matcher(match):
    """``match`` as a function of the digits: True (complete) or False."""
    if match is None:
        return None
    if isinstance(match, bool):
        raise ValidationError("match must be a digit count, a regular expression or a callable", "match")
    if isinstance(match, int):
        if match <= 0:
            raise ValidationError("a digit count must be positive, not %d" % match, "match")
        return lambda digits: len(digits) == match
    if isinstance(match, str):
        match = re.compile(match)
    if isinstance(match, re.Pattern):
        return lambda digits: match.fullmatch(digits) is not None
    if callable(match):
        return lambda digits: bool(match(digits))
    raise ValidationError("match must be a digit count, a regular expression or a callable, not %r" % (match,),
                          "match")


class _Input:
    """The digits of one attempt of a prompt."""

    def __init__(self, max_digits, terminators, matcher):
        self.max_digits = max_digits
        self.terminators = terminators
        self.matcher = matcher
        self.digits = ""
        self.terminator = ""
        self.status = None      # COMPLETE or INVALID once the input is over
        self.last_digit = None  # loop time of the last digit

    def press(self, digit):
        """One key; returns True when the input is over."""
        self.last_digit = clock()
        if digit in self.terminators:
            self.terminator = digit
            self.status = COMPLETE if self.valid() else INVALID
            return True
        self.digits += digit
        if self.max_digits and len(self.digits) >= self.max_digits:
            self.status = COMPLETE if self.valid() else INVALID
            return True
        if self.matcher is not None and self.matcher(self.digits):
            self.status = COMPLETE
            return True
        return False

    def valid(self):
        return self.matcher is None or self.matcher(self.digits)

    def timed_out(self):
        """The caller paused: complete if no rule asks for more, else a timeout."""
        if self.digits and self.matcher is None and not self.max_digits:
            self.status = COMPLETE
        return self.status


def prompt(channel, *media, max_digits=None, terminators="#", first_digit_timeout=5.0, inter_digit_timeout=3.0,
           overall_timeout=None, replays=0, match=None, barge_in=True):
    """Play ``media`` on ``channel`` and collect DTMF.  Blocks until the input is over; returns a
    ``PromptResult``.

    - Input ends with a ``terminators`` key (not part of ``digits``), after ``max_digits`` digits,
      or as soon as ``match`` is satisfied: a digit count, a regular expression (full match) or a
      callable ``match(digits) -> bool``.  Input that ends (key or count) without matching is INVALID.
    - Timeouts in seconds: ``first_digit_timeout`` from the end of the prompt, ``inter_digit_timeout``
      from the last digit, ``overall_timeout`` from the call (including the prompt).  A pause after
      some digits completes the input when neither ``max_digits`` nor ``match`` asks for more, else it
      is a TIMEOUT.
    - ``replays``: how many more times the prompt is played when nothing was entered or the input
      was INVALID (``plays`` tells how often it played).
    - ``barge_in`` (default): the first digit stops the prompt; without it the prompt plays on, and
      digits pressed meanwhile still count.  Digits pressed while the prompt is being started are kept.
    - The channel hanging up gives HUNGUP (with the digits so far).  A killed greenlet stops the prompt.
    - Events lost (a gap marker) during an attempt: digits pressed meanwhile may be missing, so the
      attempt is abandoned (its prompt stopped) and, if ``replays`` are left, the prompt is played
      again with fresh input; otherwise the status is GAP (with the digits seen, maybe incomplete).
      A channel found gone after the gap gives HUNGUP.
    """
    items = _media_list(media)
    matcher = _matcher(match)
    if max_digits is not None and max_digits <= 0:
        raise ValidationError("max_digits must be positive", "max_digits")
    terminators = terminators or ""
    overall = deadline_after(overall_timeout)
    watch = Watch(channel)
    playbacks = []
    plays = 0
    entry = None
    try:
        for _attempt in range(replays + 1):
            entry = _Input(max_digits, terminators, matcher)

            def on_event(event, entry=entry):
                if not watch.is_dtmf(event) or entry.status is not None:
                    return False
                over = entry.press(event.body.get("digit") or "")
                return over or barge_in

            status, pb = _follow(watch, items, overall, on_event, abandon_on_gap=True)
            plays += 1
            if pb is not None:
                playbacks.append(pb)
            if status == HUNGUP:
                settle()
                return PromptResult(HUNGUP, entry.digits, entry.terminator, plays, playbacks)
            if status == TIMEOUT:
                return PromptResult(TIMEOUT, entry.digits, entry.terminator, plays, playbacks)
            # (FAILED: the prompt could not be played; input is still waited for as if it had been)
            if status == GAP:
                result = GAP
            else:
                result = entry.status or _collect(watch, entry, first_digit_timeout, inter_digit_timeout, overall)
            if result == HUNGUP:
                settle()
                return PromptResult(HUNGUP, entry.digits, entry.terminator, plays, playbacks)
            if result == GAP:
                if _attempt < replays:
                    continue    # digits may have been lost: ask again
                return PromptResult(GAP, entry.digits, entry.terminator, plays, playbacks)
            if result == COMPLETE:
                return PromptResult(COMPLETE, entry.digits, entry.terminator, plays, playbacks)
            if result == TIMEOUT and (entry.digits or (overall is not None and remaining(overall) == 0)):
                return PromptResult(TIMEOUT, entry.digits, entry.terminator, plays, playbacks)
            # nothing entered, or INVALID: play it again if replays are left
        return PromptResult(entry.status or TIMEOUT, entry.digits, entry.terminator, plays, playbacks)
    finally:
        watch.close()


def _collect(watch, entry, first_digit_timeout, inter_digit_timeout, overall):
    """Read digits after the prompt; returns COMPLETE, INVALID, TIMEOUT, HUNGUP or GAP."""
    start = clock()
    while True:
        if watch.ended is not None:
            return HUNGUP
        if entry.last_digit is None:
            limit = None if first_digit_timeout is None else start + first_digit_timeout
        else:
            limit = None if inter_digit_timeout is None else max(entry.last_digit, start) + inter_digit_timeout
        limit = earliest(limit, overall)
        event = watch.get(remaining(limit))
        if event is None:
            return entry.timed_out() or TIMEOUT
        if watch.is_gap(event):
            if probe(watch.target, overall) is None:
                watch.found_gone(event)
                return HUNGUP
            return GAP
        if watch.is_dtmf(event) and entry.press(event.body.get("digit") or ""):
            return entry.status
