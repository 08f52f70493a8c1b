"""Handles: one object per ARI entity, carrying its full key (kind, id, node, app, dialog).

Every method is one request (documented with the kind it sends) routed by
the handle's key: straight to the owning server when the node is known,
else a broadcast answered by whichever server has the entity.  Operations
that create something on an existing entity (play, record, snoop) first lock
in the entity's node, since a create without a node goes to any one server.
Entities the client creates are subscribed before the create is sent, so
``handle.wait(...)`` cannot miss their first events.  Every call blocks the
calling greenlet up to the client's timeout (per attempt).
"""
import logging
import weakref

from ariproxy.errors import ValidationError
from ariproxy.protocol import Key, check_event_type
from ariproxy.protocol.kinds import KINDS, new_id

from .events import TERMINAL_EVENTS
from .registry import registered, sends

__all__ = [
    "Handle", "Channel", "Bridge", "Playback", "LiveRecording", "StoredRecording", "Endpoint", "DeviceState",
    "Mailbox", "Sound", "Module", "LoggingChannel", "Application", "ConfigObject", "Variable", "Staged",
    "handle_class", "entity_id",
]

log = logging.getLogger("ariproxy.client")


def entity_id(value):
    """The id of a handle, or the value itself (ids may be given as handles or strings)."""
    if isinstance(value, Handle):
        return value.id
    return value or ""


def _command(kind, doc):
    """A handle method sending ``kind`` with no payload."""
    def method(self):
        self._send(kind)
    method.__doc__ = "%s (sends %s)." % (doc, kind)
    method._sends = [(kind, None)]
    return method


def _data(kind):
    """A ``data()`` method sending ``kind`` (a new function per class, so each is tagged once)."""
    def data(self):
        return Handle.data(self)
    data.__doc__ = Handle.data.__doc__.rstrip(".") + " (sends %s)." % kind
    data._sends = [(kind, None)]
    return data


def _get(kind):
    """A ``get()`` method sending ``kind``."""
    def get(self):
        return Handle.get(self)
    get.__doc__ = Handle.get.__doc__.rstrip(".") + " (sends %s)." % kind
    get._sends = [(kind, None)]
    return get


def _generic(resource, operation, doc):
    """A handle method calling an ARI operation without a Go kind, with no other parameters."""
    def method(self):
        return self._generic(resource, operation, {})
    method.__doc__ = "%s (ARI %s.%s through the generic kind)." % (doc, resource, operation)
    method._sends = [(None, (resource, operation))]
    return method


class Handle:
    """Base of the entity handles: key, routing, events, readable repr."""

    kind = ""
    #: request kinds for Data and Get of this entity
    data_kind = None
    get_kind = None
    #: ARI path parameter(s) the id fills for generic calls
    path_params = ()

    __slots__ = ("_client", "_key", "_early", "_finalizer", "__weakref__")

    def __init__(self, client, key, early=False):
        if not isinstance(key, Key):
            key = Key.from_dict(key)
        if self.kind and key.kind != self.kind:
            key = key._replace(kind=self.kind)
        self._client = client
        self._key = key
        self._early = None
        self._finalizer = None
        if early:
            self._early = client._early_subscription(key, backfill=early == "backfill")
            self._finalizer = weakref.finalize(self, self._early.close)

    # -- identity ---------------------------------------------------------------
    @property
    def key(self):
        """The full Key (kind, id, node, dialog, app)."""
        return self._key

    @property
    def id(self):
        return self._key.id

    @property
    def client(self):
        """The client (or ``client.new()`` child) this handle sends through and subscribes with."""
        return self._client

    @property
    def node(self):
        return self._key.node

    @property
    def app(self):
        return self._key.app

    @property
    def dialog(self):
        return self._key.dialog

    def __repr__(self):
        k = self._key
        parts = [repr(k.id)]
        if k.node:
            parts.append("node=%s" % k.node)
        if k.app:
            parts.append("app=%s" % k.app)
        if k.dialog:
            parts.append("dialog=%s" % k.dialog)
        return "<%s %s>" % (type(self).__name__, " ".join(parts))

    def __eq__(self, other):
        return type(other) is type(self) and other._key == self._key

    def __hash__(self):
        return hash(self._key)

    def with_dialog(self, dialog):
        """The same entity addressed through ``dialog``: its requests bind the dialog, its
        subscriptions listen on the dialog's subject."""
        return type(self)(self._client, self._key._replace(dialog=dialog or ""))

    def on_node(self, node):
        """The same entity, addressed to ``node``."""
        return type(self)(self._client, self._key._replace(node=node or ""))

    # -- requests ------------------------------------------------------------------
    def _send(self, kind, key=None, **payload_args):
        spec = KINDS[kind]
        payload = spec.build_payload(**payload_args) if spec.payload_field else None
        return self._client.request(kind, key or self._key, spec.payload_field if payload is not None else None,
                                    payload)

    def _adopt(self, key):
        """Take node/app from the server's answer (the create or Get response)."""
        if key is None:
            return
        k = self._key
        self._key = k._replace(node=key.node or k.node, app=key.app or k.app)

    def _lock_node(self):
        """Make sure the key names the owning server (a Get broadcast when it does not)."""
        if self._key.node and self._key.app:
            return
        if self.get_kind is None:
            return
        resp = self._client.request(self.get_kind, self._key)
        self._adopt(resp.key)

    def _generic(self, resource, operation, params, cls=None):
        params = dict(params)
        if self.path_params:
            from ariproxy.protocol.kinds import key_path_params
            params.update(key_path_params(self.kind, self.id))
        return self._client.generic(resource, operation, params, key=self._key, cls=cls)

    def data(self):
        """The entity's current ARI data (a dict, including its ``key``); NotFound if it is gone."""
        if self.data_kind is None:
            raise ValidationError("%s has no data request" % type(self).__name__)
        resp = self._send(self.data_kind)
        entity = resp.entity
        if entity is not None and entity.key is not None:
            self._adopt(entity.key)
        return entity.value if entity is not None and entity.value is not None else {}

    def get(self):
        """Ask the servers for this entity and lock in its node; returns self (NotFound if gone)."""
        if self.get_kind is None:
            raise ValidationError("%s has no get request" % type(self).__name__)
        resp = self._send(self.get_kind)
        self._adopt(resp.key)
        return self

    # -- events ----------------------------------------------------------------------
    def subscribe(self, *event_types, queue_size=None):
        """A Subscription to this entity's events (of ``event_types``, all when none).

        For an entity this client created, events that already arrived are
        included, so nothing since the create is missed.
        """
        for name in event_types:
            check_event_type(name)
        sub = self._client._subscription(event_types, self._key, queue_size)
        if self._early is not None:
            for event in list(self._early._queue):
                sub._offer(event)
        return sub

    def on(self, event_type, callback):
        """Run ``callback(event)`` for this entity's ``event_type`` events in a greenlet of its own."""
        return self._client.on(event_type, callback, key=self._key)

    def wait(self, *event_types, timeout=None):
        """Block until one of ``event_types`` happens to this entity; return the event.

        For an entity this client created, reads its events since the create
        (consuming them), so an event that came before the call is found.
        Raises ``Timeout`` after ``timeout`` seconds, and ``HungUp`` (a channel, with the hangup
        cause) or ``EntityDestroyed`` when the entity ends before any of ``event_types`` comes
        (``ValidationError`` at once for a type the ARI spec does not have).
        """
        for name in event_types:
            check_event_type(name)
        if self._early is not None:
            return self._early.wait(*event_types, timeout=timeout)
        types = event_types
        if types:
            # also hear the entity's end (and a channel's dial status), so the wait fails at once then
            extra = TERMINAL_EVENTS.get(self.kind, ()) + (("Dial",) if self.kind == "channel" else ())
            types = tuple(event_types) + tuple(t for t in extra if t not in event_types)
        with self._client._subscription(types, self._key) as sub:
            return sub.wait(*event_types, timeout=timeout)

    def close(self):
        """Release the subscription this handle got at creation (other subscriptions stay); later
        waits subscribe afresh."""
        if self._early is not None:
            self._early.close()
            self._early = None

    # -- helpers for creating entities --------------------------------------------------
    def _create_child(self, kind, entity_id_, request_kind, **payload):
        """Create an entity of ``kind`` on this entity's node, subscribed before the request."""
        self._lock_node()
        child = handle_class(kind)(self._client, self._key.new(kind, entity_id_), early=True)
        try:
            resp = self._send(request_kind, **payload)
        except BaseException:
            child.close()
            raise
        child._adopt(resp.key)
        return child

    def _stage_child(self, kind, entity_id_, stage_kind, real_kind, **payload):
        self._lock_node()
        child = handle_class(kind)(self._client, self._key.new(kind, entity_id_), early=True)
        try:
            resp = self._send(stage_kind, **payload)
        except BaseException:
            child.close()
            raise
        child._adopt(resp.key)
        parent = self

        def execute():
            parent._send(real_kind, key=parent._key._replace(node=child.node or parent.node), **payload)
            return child
        return Staged(child, real_kind, execute)


class Staged:
    """A staged operation (PROTOCOL.md 10): the node is locked in and the new entity's handle
    exists (and is subscribed); ``execute()`` performs the real operation and returns it."""

    def __init__(self, handle, kind, execute):
        self.handle = handle
        self.kind = kind
        self._execute = execute
        self.executed = False

    def __repr__(self):
        return "<Staged %s %r%s>" % (self.kind, self.handle, " executed" if self.executed else "")

    def execute(self):
        """Send the real request to the locked-in node; returns the handle."""
        result = self._execute()
        self.executed = True
        return result


# ---------------------------------------------------------------------------------- channels

@registered
class Channel(Handle):
    """A channel.  ``answer()``, ``play()``, ``hangup()``..."""

    kind = "channel"
    data_kind = "ChannelData"
    get_kind = "ChannelGet"
    path_params = ("channelId",)
    __slots__ = ()

    data = _data("ChannelData")
    get = _get("ChannelGet")

    answer = _command("ChannelAnswer", "Answer the channel")
    busy = _command("ChannelBusy", "Hang up with cause busy")
    congestion = _command("ChannelCongestion", "Hang up with cause congestion")
    ring = _command("ChannelRing", "Indicate ringing")
    stop_ring = _command("ChannelStopRing", "Stop indicating ringing")
    hold = _command("ChannelHold", "Put the channel on hold")
    unhold = _command("ChannelStopHold", "Take the channel off hold")
    silence = _command("ChannelSilence", "Play silence")
    stop_silence = _command("ChannelStopSilence", "Stop playing silence")
    stop_moh = _command("ChannelStopMOH", "Stop music on hold")
    app_subscribe = _command("ChannelSubscribe", "Subscribe the server's ARI application to this channel")
    progress = _generic("channels", "progress", "Indicate progress")
    rtp_statistics = _generic("channels", "rtpstatistics", "RTP statistics of the channel (a dict)")

    @sends("ChannelHangup")
    def hangup(self, reason=""):
        """Hang up (``reason``: normal, busy, congestion, no_answer, ...). Sends ChannelHangup."""
        self._send("ChannelHangup", reason=reason)

    @sends("ChannelMute")
    def mute(self, direction="both"):
        """Mute audio in ``direction`` (in, out, both). Sends ChannelMute."""
        self._send("ChannelMute", direction=direction)

    @sends("ChannelUnmute")
    def unmute(self, direction="both"):
        """Unmute audio in ``direction``. Sends ChannelUnmute."""
        self._send("ChannelUnmute", direction=direction)

    @sends("ChannelMOH")
    def moh(self, moh_class=""):
        """Start music on hold of ``moh_class``. Sends ChannelMOH."""
        self._send("ChannelMOH", moh_class=moh_class)

    @sends("ChannelSendDTMF")
    def send_dtmf(self, dtmf, before=0, between=0, duration=0, after=0):
        """Send DTMF digits; timings in seconds. Sends ChannelSendDTMF."""
        self._send("ChannelSendDTMF", dtmf=dtmf, before=before, between=between, duration=duration, after=after)

    @sends("ChannelDial")
    def dial(self, caller="", timeout=0):
        """Dial a created channel; ``caller`` a channel (id or handle), ``timeout`` seconds. Sends ChannelDial."""
        self._send("ChannelDial", caller=entity_id(caller), timeout=timeout)

    @sends("ChannelContinue")
    def continue_in_dialplan(self, context="", extension="", priority=0):
        """Leave Stasis and continue in the dialplan. Sends ChannelContinue."""
        self._send("ChannelContinue", context=context, extension=extension, priority=priority)

    @sends("ChannelPlay", also=[("channels", "play")])
    def play(self, media, playback_id=None):
        """Play ``media`` (a URI like ``sound:hello-world``, or a list); returns the Playback,
        subscribed before the request is sent. Sends ChannelPlay."""
        pid = playback_id or new_id("playback")
        return self._create_child("playback", pid, "ChannelPlay", playback_id=pid, media=media)

    @sends("ChannelRecord")
    def record(self, name=None, format="wav", max_duration=0, max_silence=0, if_exists="", beep=False,
               terminate_on=""):
        """Record the channel as ``name`` (generated if None); durations in seconds.
        Returns the LiveRecording, subscribed first. Sends ChannelRecord."""
        name = name or new_id("liverecording")
        return self._create_child("liverecording", name, "ChannelRecord", name=name, format=format,
                                  max_duration=max_duration, max_silence=max_silence, if_exists=if_exists,
                                  beep=beep, terminate_on=terminate_on)

    @sends("ChannelSnoop", also=[("channels", "snoopChannel")])
    def snoop(self, app=None, spy="", whisper="", app_args="", snoop_id=None):
        """Start a snoop channel into Stasis ``app`` (default: the client's); returns it. Sends ChannelSnoop."""
        sid = snoop_id or new_id("channel")
        return self._create_child("channel", sid, "ChannelSnoop", snoop_id=sid, app=app or self._default_app(),
                                  app_args=app_args, spy=spy, whisper=whisper)

    @sends("ChannelOriginate")
    def originate(self, endpoint, extension="", context="", priority=0, label="", app=None, app_args="",
                  caller_id="", timeout=0, variables=None, channel_id=None, other_channel_id="", originator="",
                  formats=""):
        """Originate a new channel from this one: the request goes to this channel's node (and binds
        its dialog).  Returns the new Channel, subscribed first.  Sends ChannelOriginate."""
        if app is None and not extension:
            app = self._default_app()
        cid = channel_id or new_id("channel")
        return self._create_child("channel", cid, "ChannelOriginate", endpoint=endpoint, timeout=timeout,
                                  caller_id=caller_id, context=context, extension=extension, priority=priority,
                                  label=label, app=app or "", app_args=app_args, formats=formats, channel_id=cid,
                                  other_channel_id=other_channel_id, originator=entity_id(originator),
                                  variables=variables)

    def _default_app(self):
        return self._key.app or self._client.application or ""

    @sends("ChannelStagePlay")
    def stage_play(self, media, playback_id=None):
        """Stage a play: lock in the node, subscribe; ``.execute()`` plays. Sends ChannelStagePlay."""
        pid = playback_id or new_id("playback")
        return self._stage_child("playback", pid, "ChannelStagePlay", "ChannelPlay", playback_id=pid, media=media)

    @sends("ChannelStageRecord")
    def stage_record(self, name=None, format="wav", max_duration=0, max_silence=0, if_exists="", beep=False,
                     terminate_on=""):
        """Stage a recording; ``.execute()`` starts it. Sends ChannelStageRecord."""
        name = name or new_id("liverecording")
        return self._stage_child("liverecording", name, "ChannelStageRecord", "ChannelRecord", name=name,
                                 format=format, max_duration=max_duration, max_silence=max_silence,
                                 if_exists=if_exists, beep=beep, terminate_on=terminate_on)

    @sends("ChannelStageSnoop")
    def stage_snoop(self, app=None, spy="", whisper="", app_args="", snoop_id=None):
        """Stage a snoop channel; ``.execute()`` creates it. Sends ChannelStageSnoop."""
        sid = snoop_id or new_id("channel")
        return self._stage_child("channel", sid, "ChannelStageSnoop", "ChannelSnoop", snoop_id=sid,
                                 app=app or self._default_app(), app_args=app_args, spy=spy, whisper=whisper)

    @sends("ChannelVariableGet")
    def get_variable(self, name):
        """A channel variable's value ("" when unset). Sends ChannelVariableGet."""
        resp = self._send("ChannelVariableGet", name=name)
        entity = resp.entity
        return entity.value if entity is not None and entity.value is not None else ""

    @sends("ChannelVariableSet")
    def set_variable(self, name, value=""):
        """Set a channel variable. Sends ChannelVariableSet."""
        self._send("ChannelVariableSet", name=name, value=value)

    @sends("ChannelUserEvent")
    def user_event(self, name, variables=None):
        """Raise a user event named ``name`` with ``variables`` (a dict) on this channel.
        Sends ChannelUserEvent."""
        self._send("ChannelUserEvent", event_name=name, variables=variables)

    @sends(ari=("channels", "move"))
    def move(self, app, app_args=""):
        """Move the channel to another Stasis application (generic kind)."""
        params = {"app": app}
        if app_args:
            params["appArgs"] = app_args
        self._generic("channels", "move", params)

    @sends(ari=("channels", "redirect"))
    def redirect(self, endpoint):
        """Redirect the channel to ``endpoint`` (generic kind)."""
        self._generic("channels", "redirect", {"endpoint": endpoint})

    @sends(ari=("channels", "getChannelVars"))
    def get_variables(self, *names):
        """Several channel variables at once (generic kind; ARI of Asterisk 22+)."""
        return self._generic("channels", "getChannelVars", {"variables": ",".join(names)})

    @sends(ari=("channels", "setChannelVars"))
    def set_variables(self, variables):
        """Set several channel variables from a dict (generic kind; ARI of Asterisk 22+)."""
        self._generic("channels", "setChannelVars", {"variables": dict(variables)})

    @sends(ari=("channels", "transfer_progress"))
    def transfer_progress(self, states):
        """Report the progress of a transfer (generic kind)."""
        self._generic("channels", "transfer_progress", {"states": states})



# ---------------------------------------------------------------------------------- bridges

@registered
class Bridge(Handle):
    """A bridge. ``add_channel()``, ``play()``, ``destroy()``..."""

    kind = "bridge"
    data_kind = "BridgeData"
    get_kind = "BridgeGet"
    path_params = ("bridgeId",)
    __slots__ = ()

    data = _data("BridgeData")
    get = _get("BridgeGet")
    destroy = _command("BridgeDelete", "Destroy the bridge")
    stop_moh = _command("BridgeStopMOH", "Stop music on hold")
    clear_video_source = _command("BridgeVideoSourceDelete", "Go back to automatic video source selection")
    app_subscribe = _command("BridgeSubscribe", "Subscribe the server's ARI application to this bridge")
    app_unsubscribe = _command("BridgeUnsubscribe", "Unsubscribe the server's ARI application (and dialog)")

    @sends("BridgeAddChannel")
    def add_channel(self, channel, absorb_dtmf=False, mute=False, role=""):
        """Add a channel (handle or id). Sends BridgeAddChannel."""
        self._send("BridgeAddChannel", channel=entity_id(channel), absorb_dtmf=absorb_dtmf, mute=mute, role=role)

    @sends("BridgeRemoveChannel")
    def remove_channel(self, channel):
        """Remove a channel (handle or id). Sends BridgeRemoveChannel."""
        self._send("BridgeRemoveChannel", channel=entity_id(channel))

    @sends("BridgeMOH")
    def moh(self, moh_class=""):
        """Play music on hold to the bridge. Sends BridgeMOH."""
        self._send("BridgeMOH", moh_class=moh_class)

    @sends("BridgeVideoSource")
    def video_source(self, channel):
        """Make ``channel`` the bridge's video source. Sends BridgeVideoSource."""
        self._send("BridgeVideoSource", channel=entity_id(channel))

    @sends("BridgePlay", also=[("bridges", "play")])
    def play(self, media, playback_id=None):
        """Play ``media`` to the bridge; returns the Playback, subscribed first. Sends BridgePlay."""
        pid = playback_id or new_id("playback")
        return self._create_child("playback", pid, "BridgePlay", playback_id=pid, media=media)

    @sends("BridgeRecord")
    def record(self, name=None, format="wav", max_duration=0, max_silence=0, if_exists="", beep=False,
               terminate_on=""):
        """Record the bridge; returns the LiveRecording, subscribed first. Sends BridgeRecord."""
        name = name or new_id("liverecording")
        return self._create_child("liverecording", name, "BridgeRecord", name=name, format=format,
                                  max_duration=max_duration, max_silence=max_silence, if_exists=if_exists,
                                  beep=beep, terminate_on=terminate_on)

    @sends("BridgeStagePlay")
    def stage_play(self, media, playback_id=None):
        """Stage a play on the bridge; ``.execute()`` plays. Sends BridgeStagePlay."""
        pid = playback_id or new_id("playback")
        return self._stage_child("playback", pid, "BridgeStagePlay", "BridgePlay", playback_id=pid, media=media)

    @sends("BridgeStageRecord")
    def stage_record(self, name=None, format="wav", max_duration=0, max_silence=0, if_exists="", beep=False,
                     terminate_on=""):
        """Stage a bridge recording; ``.execute()`` starts it. Sends BridgeStageRecord."""
        name = name or new_id("liverecording")
        return self._stage_child("liverecording", name, "BridgeStageRecord", "BridgeRecord", name=name,
                                 format=format, max_duration=max_duration, max_silence=max_silence,
                                 if_exists=if_exists, beep=beep, terminate_on=terminate_on)

    @sends(ari=("bridges", "getBridgeVar"))
    def get_variable(self, name):
        """A bridge variable (generic kind; ARI of Asterisk 22+)."""
        value = self._generic("bridges", "getBridgeVar", {"variable": name})
        if isinstance(value, dict):
            return value.get("value", "")
        return value or ""

    @sends(ari=("bridges", "setBridgeVar"))
    def set_variable(self, name, value=""):
        """Set a bridge variable (generic kind)."""
        self._generic("bridges", "setBridgeVar", {"variable": name, "value": value})

    @sends(ari=("bridges", "getBridgeVars"))
    def get_variables(self, *names):
        """Several bridge variables (generic kind)."""
        return self._generic("bridges", "getBridgeVars", {"variables": ",".join(names)})

    @sends(ari=("bridges", "setBridgeVars"))
    def set_variables(self, variables):
        """Set several bridge variables from a dict (generic kind)."""
        self._generic("bridges", "setBridgeVars", {"variables": dict(variables)})


# ---------------------------------------------------------------------------------- playbacks, recordings

@registered
class Playback(Handle):
    """A playback. ``wait("PlaybackFinished")``, ``control("pause")``, ``stop()``."""

    kind = "playback"
    data_kind = "PlaybackData"
    get_kind = "PlaybackGet"
    __slots__ = ()

    data = _data("PlaybackData")
    get = _get("PlaybackGet")
    stop = _command("PlaybackStop", "Stop the playback")
    app_subscribe = _command("PlaybackSubscribe", "Subscribe (and bind the dialog) to this playback")

    @sends("PlaybackControl")
    def control(self, operation):
        """``restart``, ``pause``, ``unpause``, ``reverse`` or ``forward``. Sends PlaybackControl."""
        self._send("PlaybackControl", operation=operation)


@registered
class LiveRecording(Handle):
    """A recording in progress."""

    kind = "liverecording"
    data_kind = "RecordingLiveData"
    get_kind = "RecordingLiveGet"
    __slots__ = ()

    data = _data("RecordingLiveData")
    get = _get("RecordingLiveGet")
    stop = _command("RecordingLiveStop", "Stop and store the recording")
    pause = _command("RecordingLivePause", "Pause the recording")
    resume = _command("RecordingLiveResume", "Resume a paused recording")
    mute = _command("RecordingLiveMute", "Mute the recording")
    unmute = _command("RecordingLiveUnmute", "Unmute the recording")
    scrap = _command("RecordingLiveScrap", "Stop and discard the recording")
    app_subscribe = _command("RecordingLiveSubscribe", "Subscribe (and bind the dialog) to this recording")


@registered
class StoredRecording(Handle):
    """A stored recording."""

    kind = "storedrecording"
    data_kind = "RecordingStoredData"
    get_kind = "RecordingStoredGet"
    path_params = ("recordingName",)
    __slots__ = ()

    data = _data("RecordingStoredData")
    get = _get("RecordingStoredGet")
    delete = _command("RecordingStoredDelete", "Delete the stored recording")

    @sends("RecordingStoredCopy")
    def copy(self, destination):
        """Copy to ``destination``; returns the new StoredRecording. Sends RecordingStoredCopy."""
        resp = self._send("RecordingStoredCopy", destination=destination)
        copy = StoredRecording(self._client, self._key._replace(id=destination))
        copy._adopt(resp.key)
        return copy

    @sends(ari=("recordings", "getStoredFile"))
    def file(self):
        """The recording's audio file (generic kind; what the server returns for binary data)."""
        return self._generic("recordings", "getStoredFile", {})


# ---------------------------------------------------------------------------------- the rest

@registered
class Endpoint(Handle):
    """An endpoint (id ``technology/resource``)."""

    kind = "endpoint"
    data_kind = "EndpointData"
    get_kind = "EndpointGet"
    path_params = ("tech", "resource")
    __slots__ = ()

    data = _data("EndpointData")
    get = _get("EndpointGet")

    @sends(ari=("endpoints", "sendMessageToEndpoint"))
    def send_message(self, from_, body="", variables=None):
        """Send a text message to this endpoint (generic kind)."""
        params = {"from": from_}
        if body:
            params["body"] = body
        if variables:
            params["variables"] = dict(variables)
        self._generic("endpoints", "sendMessageToEndpoint", params)

    @sends(ari=("endpoints", "referToEndpoint"))
    def refer(self, from_, refer_to, to_self=False):
        """Send a REFER to this endpoint (generic kind)."""
        params = {"from": from_, "refer_to": refer_to}
        if to_self:
            params["to_self"] = True
        self._generic("endpoints", "referToEndpoint", params)


@registered
class DeviceState(Handle):
    """A (Stasis-controlled) device state."""

    kind = "devicestate"
    data_kind = "DeviceStateData"
    get_kind = "DeviceStateGet"
    __slots__ = ()

    data = _data("DeviceStateData")
    get = _get("DeviceStateGet")
    delete = _command("DeviceStateDelete", "Delete the device state")

    @sends("DeviceStateUpdate")
    def update(self, state):
        """Set the state (NOT_INUSE, INUSE, BUSY, ...). Sends DeviceStateUpdate."""
        self._send("DeviceStateUpdate", state=state)


@registered
class Mailbox(Handle):
    """A mailbox."""

    kind = "mailbox"
    data_kind = "MailboxData"
    get_kind = "MailboxGet"
    __slots__ = ()

    data = _data("MailboxData")
    get = _get("MailboxGet")
    delete = _command("MailboxDelete", "Delete the mailbox")

    @sends("MailboxUpdate")
    def update(self, new_messages=0, old_messages=0):
        """Set the message counts. Sends MailboxUpdate."""
        self._send("MailboxUpdate", new_messages=new_messages, old_messages=old_messages)


@registered
class Sound(Handle):
    """A sound file known to Asterisk."""

    kind = "sound"
    data_kind = "SoundData"
    __slots__ = ()

    data = _data("SoundData")


@registered
class Module(Handle):
    """An Asterisk module (``res_ari.so``)."""

    kind = "module"
    data_kind = "AsteriskModuleData"
    get_kind = "AsteriskModuleGet"
    __slots__ = ()

    data = _data("AsteriskModuleData")
    get = _get("AsteriskModuleGet")
    load = _command("AsteriskModuleLoad", "Load the module")
    unload = _command("AsteriskModuleUnload", "Unload the module")
    reload = _command("AsteriskModuleReload", "Reload the module")


@registered
class LoggingChannel(Handle):
    """A logging channel."""

    kind = "logging"
    data_kind = "AsteriskLoggingData"
    get_kind = "AsteriskLoggingGet"
    __slots__ = ()

    data = _data("AsteriskLoggingData")
    get = _get("AsteriskLoggingGet")
    rotate = _command("AsteriskLoggingRotate", "Rotate the log")
    delete = _command("AsteriskLoggingDelete", "Delete the logging channel")


@registered
class Application(Handle):
    """An ARI (Stasis) application on a server."""

    kind = "application"
    data_kind = "ApplicationData"
    get_kind = "ApplicationGet"
    path_params = ("applicationName",)
    __slots__ = ()

    data = _data("ApplicationData")
    get = _get("ApplicationGet")

    @sends("ApplicationSubscribe")
    def subscribe_source(self, event_source):
        """Subscribe the application to ``channel:<id>``, ``bridge:<id>``, ``endpoint:<tech>/<res>``
        or ``deviceState:<name>``. Sends ApplicationSubscribe."""
        self._send("ApplicationSubscribe", event_source=_event_source(event_source))

    @sends("ApplicationUnsubscribe")
    def unsubscribe_source(self, event_source):
        """Undo ``subscribe_source``. Sends ApplicationUnsubscribe."""
        self._send("ApplicationUnsubscribe", event_source=_event_source(event_source))

    @sends(ari=("applications", "filter"))
    def set_event_filter(self, filter=None):
        """Set the application's event filter (``{"allowed": [...], "disallowed": [...]}``; generic kind)."""
        return self._generic("applications", "filter", {"filter": filter} if filter else {})


def _event_source(source):
    if isinstance(source, Handle):
        prefix = {"channel": "channel", "bridge": "bridge", "endpoint": "endpoint",
                  "devicestate": "deviceState"}.get(source.kind)
        if prefix is None:
            raise ValidationError("%r cannot be an event source" % (source,), "event_source")
        return "%s:%s" % (prefix, source.id)
    return source


@registered
class ConfigObject(Handle):
    """A dynamic configuration object (id ``class/type/id``, e.g. ``res_pjsip/endpoint/alice``)."""

    kind = "config"
    data_kind = "AsteriskConfigData"
    __slots__ = ()

    data = _data("AsteriskConfigData")
    delete = _command("AsteriskConfigDelete", "Delete the object")

    @sends("AsteriskConfigUpdate")
    def update(self, fields):
        """Create or update with ``fields``: a dict or (attribute, value) pairs. Sends AsteriskConfigUpdate."""
        tuples = list(fields.items()) if isinstance(fields, dict) else list(fields)
        self._send("AsteriskConfigUpdate", tuples=tuples)


class Variable(Handle):
    """A global variable's key (used by ``client.variables``)."""

    kind = "variable"
    __slots__ = ()


_CLASSES = {cls.kind: cls for cls in (Channel, Bridge, Playback, LiveRecording, StoredRecording, Endpoint,
                                       DeviceState, Mailbox, Sound, Module, LoggingChannel, Application,
                                       ConfigObject, Variable)}


class Entity(Handle):
    """A key of a kind this client has no class for (still addressable, subscribable)."""

    __slots__ = ()


def handle_class(kind):
    """The handle class for a key kind (``Entity`` when unknown)."""
    return _CLASSES.get(kind, Entity)
