"""The ariproxy client: a synchronous ARI client over ari-proxy servers on NATS.

Use it monkey-patched with gevent (every call blocks only its greenlet)::

    from gevent import monkey; monkey.patch_all()
    import ariproxy

    with ariproxy.Client(application="demo", url="nats://127.0.0.1:4222") as client:
        ch = client.channels.originate(endpoint="Local/1000@default")
        pb = ch.play("sound:hello-world")       # subscribed before the request: no lost events
        pb.wait("PlaybackFinished", timeout=10)
        ch.hangup()

``Client`` holds one NATS connection (shared with ``client.new()`` children),
the cluster view (``client.nodes()``) and the event subscriptions
(``client.subscribe``, ``client.on``, ``client.listen``).  Resources are
attributes (``client.channels``, ``client.bridges``, ...); entities are
handles carrying their full key.  Errors are ``ariproxy.errors`` exceptions.
"""
from .core import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Client, Listener
from .cluster import Node
from .events import Callback, Subscription
from .handles import (Application, Bridge, Channel, ConfigObject, DeviceState, Endpoint, Handle, LiveRecording,
                      LoggingChannel, Mailbox, Module, Playback, Sound, Staged, StoredRecording)
from .registry import operation_table
from . import resources as _resources  # noqa: F401  (registers the accessor methods)

__all__ = [
    "Client", "Listener", "Subscription", "Callback", "Node", "Handle", "Channel", "Bridge", "Playback",
    "LiveRecording", "StoredRecording", "Endpoint", "DeviceState", "Mailbox", "Sound", "Module",
    "LoggingChannel", "Application", "ConfigObject", "Staged", "operation_table", "DEFAULT_TIMEOUT",
    "DEFAULT_RETRIES",
]
