"""The application toolkit: what every ARI application writes on top of raw requests.

- ``play(target, *media)``: play a sequence on a channel or bridge, block until it ends;
- ``prompt(channel, *media, max_digits=..., terminators=...)``: play prompts and collect DTMF;
- ``record(channel, ...)``: record a message (beep, silence, keys, hang-up), get the stored recording;
- ``audiouri``: numbers, digits, ordinals, dates, times and money as ``sound:`` URIs;
- ``originate(client, endpoint)``: originate and wait for the answer (``LineBusy``, ``NoAnswer``,
  ``Congestion``, ``CallFailed`` say why not); ``bridge(a, b)``; ``channel_life(channel)``: a hang-up
  raises ``HungUp`` in the blocked code and its subscriptions are released; ``BridgeMonitor``.

Every helper blocks only the calling greenlet, subscribes before it sends anything, stops what it
started when it returns early, when the channel hangs up or when its greenlet is killed, and leaves no
subscription behind.  Only the synchronous client's public API is used, so the helpers work the same
against Python and Go ari-proxy servers.  When events may have been lost (an ``AriProxyEventGap``
marker) each helper asks Asterisk for the state instead of waiting for an event that may never come
(docs/EXTENSIONS.md, "The application toolkit after a gap").
"""
from ariproxy.errors import EntityDestroyed, HungUp

from . import audiouri
from .bridgemon import DESTROYED, ENTERED, LEFT, BridgeChange, BridgeMonitor
from .call import (CallFailed, CallNotAnswered, ChannelLife, Congestion, LineBusy, NoAnswer, bridge, channel_life,
                   originate)
from .play import (COMPLETE, FAILED, FINISHED, GAP, HUNGUP, INVALID, STOPPED, TIMEOUT, PlayResult, PromptResult, play,
                   prompt)
from .record import RecordResult, record

__all__ = [
    "play", "prompt", "record", "audiouri", "originate", "bridge", "channel_life", "ChannelLife", "BridgeMonitor",
    "BridgeChange", "PlayResult", "PromptResult", "RecordResult", "HungUp", "EntityDestroyed", "CallNotAnswered",
    "LineBusy", "NoAnswer", "Congestion", "CallFailed", "FINISHED", "HUNGUP", "STOPPED", "TIMEOUT", "FAILED",
    "COMPLETE", "INVALID", "GAP", "ENTERED", "LEFT", "DESTROYED",
]
