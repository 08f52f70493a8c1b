"""Resource accessors: ``client.channels``, ``client.bridges``, ... (lists, gets, creates).

Lists gather from every server of the client's application (or of every
application when the client has none); ``node=`` narrows to one server.
Creates go to one server of the application (NATS queue group) unless
``node=`` names one; ids are generated client-side and the new entity is
subscribed before the request is sent.  Every call blocks the calling
greenlet up to the client's timeout (per attempt).
"""
from ariproxy.errors import ValidationError
from ariproxy.protocol import Key
from ariproxy.protocol.kinds import KINDS, new_id

from .handles import (Application, Bridge, Channel, ConfigObject, DeviceState, Endpoint, LiveRecording,
                      LoggingChannel, Mailbox, Module, Playback, Sound, Staged, StoredRecording,
                      entity_id)
from .registry import registered, sends

__all__ = ["attach_resources", "Asterisk", "Variables", "Applications", "Channels", "Bridges", "Playbacks",
           "Recordings", "LiveRecordings", "StoredRecordings", "Endpoints", "DeviceStates", "Mailboxes",
           "Sounds", "Modules", "Logging", "Config", "Events"]


class Resource:
    """Base of the accessors: knows its client and the handle class of its entities."""

    handle_class = None
    list_kind = None
    __slots__ = ("_client",)

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return "<%s of %r>" % (type(self).__name__, self._client)

    def _key(self, id="", node=None, dialog=None):
        c = self._client
        return Key(self.handle_class.kind if self.handle_class else "", id or "", node or "", dialog or "",
                   c.application or "")

    def _scope_key(self, node=None):
        return Key("", "", node or "", "", self._client.application or "")

    def _send(self, kind, key, **payload_args):
        spec = KINDS[kind]
        payload = spec.build_payload(**payload_args) if spec.payload_field else None
        return self._client.request(kind, key, spec.payload_field if payload is not None else None, payload)

    def _list(self, kind, node=None, **payload_args):
        resp = self._send(kind, self._scope_key(node), **payload_args)
        return [self.handle_class(self._client, k) for k in resp.keys]

    def handle(self, id, node=None, dialog=None):
        """A handle for ``id`` without asking any server (the first request finds the owner)."""
        return self.handle_class(self._client, self._key(id, node, dialog))

    def _get(self, id, node=None, dialog=None):
        return self.handle_class(self._client, self._key(id, node, dialog)).get()

    def _create(self, kind, key, **payload_args):
        """Send a create for the entity of ``key`` (kind+id), subscribed before the request."""
        h = self.handle_class(self._client, key, early=True)
        try:
            resp = self._send(kind, self._create_key(kind, key), **payload_args)
        except BaseException:
            h.close()
            raise
        h._adopt(resp.key)
        return h

    @staticmethod
    def _create_key(kind, key):
        # Go's originate/create/externalMedia keys carry no kind/id: the id is in the payload.
        if KINDS[kind].payload_field in ("channel_originate", "channel_create", "channel_external_media"):
            return key._replace(kind="", id="")
        return key


def _lister(kind, doc):
    def list_(self, node=None):
        return self._list(kind, node)
    list_.__name__ = "list"
    list_.__doc__ = "%s, gathered from every server (``node`` narrows to one). Sends %s." % (doc, kind)
    list_._sends = [(kind, None)]
    return list_


def _getter(kind, doc):
    def get(self, id, node=None, dialog=None):
        return self._get(id, node, dialog)
    get.__doc__ = "%s; raises NotFound. Sends %s." % (doc, kind)
    get._sends = [(kind, None)]
    return get


@registered
class Variables(Resource):
    """Global (Asterisk) variables: ``client.variables.get(name)``, ``.set(name, value)``."""

    __slots__ = ()

    def _var_key(self, name, node=None):
        if not name:
            raise ValidationError("a variable name is required", "name")
        return Key("variable", name, node or "", "", self._client.application or "")

    @sends("AsteriskVariableGet")
    def get(self, name, node=None):
        """A global variable's value ("" when unset). Sends AsteriskVariableGet."""
        resp = self._send("AsteriskVariableGet", self._var_key(name, node))
        entity = resp.entity
        return entity.value if entity is not None and entity.value is not None else ""

    @sends("AsteriskVariableSet")
    def set(self, name, value="", node=None):
        """Set a global variable (on every server unless ``node`` names one). Sends AsteriskVariableSet."""
        self._send("AsteriskVariableSet", self._var_key(name, node), value=value)


@registered
class Asterisk(Resource):
    """The Asterisk system: ``info()``, ``ping()``, ``variables``, ``modules``, ``logging``, ``config``."""

    __slots__ = ()

    @sends("AsteriskInfo")
    def info(self, node=None):
        """System information (a dict) from ``node`` or the first server to answer. Sends AsteriskInfo."""
        resp = self._send("AsteriskInfo", self._scope_key(node))
        entity = resp.entity
        return entity.value if entity is not None and entity.value is not None else {}

    @sends(ari=("asterisk", "ping"))
    def ping(self, node=None):
        """Asterisk's ping answer (generic kind)."""
        return self._client.generic("asterisk", "ping", {}, key=self._scope_key(node))

    @property
    def variables(self):
        return self._client.variables

    @property
    def modules(self):
        return self._client.modules

    @property
    def logging(self):
        return self._client.logging

    @property
    def config(self):
        return self._client.config


@registered
class Applications(Resource):
    """ARI applications of the servers."""

    handle_class = Application
    __slots__ = ()
    list = _lister("ApplicationList", "Every Application")
    get = _getter("ApplicationGet", "The Application named ``id``")


@registered
class Channels(Resource):
    """Channels: ``list()``, ``get(id)``, ``originate(...)``, ``create(...)``, ``external_media(...)``."""

    handle_class = Channel
    __slots__ = ()
    list = _lister("ChannelList", "Every Channel")
    get = _getter("ChannelGet", "The Channel ``id``")

    def _app(self, app):
        return app if app is not None else (self._client.application or "")

    @sends("ChannelOriginate", also=[("channels", "originateWithId")])
    def originate(self, endpoint, extension="", context="", priority=0, label="", app=None, app_args="",
                  caller_id="", timeout=0, variables=None, channel_id=None, other_channel_id="", originator="",
                  formats="", node=None, dialog=None):
        """Dial ``endpoint`` into Stasis ``app`` (default: the client's application; none when an
        ``extension`` is given) or into the dialplan.  Returns the Channel, subscribed before the
        request.  ``timeout`` seconds.  Sends ChannelOriginate."""
        if app is None and not extension:
            app = self._client.application or ""
        cid = channel_id or new_id("channel")
        return self._create("ChannelOriginate", self._key(cid, node, dialog), endpoint=endpoint,
                            timeout=timeout, caller_id=caller_id, context=context, extension=extension,
                            priority=priority, label=label, app=app or "", app_args=app_args, formats=formats,
                            channel_id=cid, other_channel_id=other_channel_id,
                            originator=entity_id(originator), variables=variables)

    @sends("ChannelStageOriginate")
    def stage_originate(self, endpoint, extension="", context="", priority=0, label="", app=None, app_args="",
                        caller_id="", timeout=0, variables=None, channel_id=None, other_channel_id="",
                        originator="", formats="", node=None, dialog=None):
        """Stage an originate: a server is chosen and the channel subscribed; ``.execute()`` dials.
        Sends ChannelStageOriginate."""
        if app is None and not extension:
            app = self._client.application or ""
        cid = channel_id or new_id("channel")
        args = dict(endpoint=endpoint, timeout=timeout, caller_id=caller_id, context=context,
                    extension=extension, priority=priority, label=label, app=app or "", app_args=app_args,
                    formats=formats, channel_id=cid, other_channel_id=other_channel_id,
                    originator=entity_id(originator), variables=variables)
        return self._stage("ChannelStageOriginate", "ChannelOriginate", self._key(cid, node, dialog), args)

    def _stage(self, stage_kind, real_kind, key, args):
        h = self._create(stage_kind, key, **args)

        def execute():
            self._send(real_kind, self._create_key(real_kind, h.key), **args)
            return h
        return Staged(h, real_kind, execute)

    @sends("ChannelCreate")
    def create(self, endpoint, app=None, app_args="", channel_id=None, other_channel_id="", originator="",
               formats="", node=None, dialog=None):
        """Create a channel without dialing it (``dial()`` it later).  Sends ChannelCreate."""
        cid = channel_id or new_id("channel")
        return self._create("ChannelCreate", self._key(cid, node, dialog), endpoint=endpoint, app=self._app(app),
                            app_args=app_args, channel_id=cid, other_channel_id=other_channel_id,
                            originator=entity_id(originator), formats=formats)

    @sends("ChannelExternalMedia")
    def external_media(self, external_host, format, app=None, channel_id=None, encapsulation="", transport="",
                       connection_type="", direction="", variables=None, node=None, dialog=None):
        """An external media channel streaming to ``external_host`` in ``format``.
        Sends ChannelExternalMedia."""
        cid = channel_id or new_id("channel")
        return self._create("ChannelExternalMedia", self._key(cid, node, dialog), format=format,
                            external_host=external_host, app=self._app(app), channel_id=cid,
                            encapsulation=encapsulation, transport=transport, connection_type=connection_type,
                            direction=direction, variables=variables)

    @sends("ChannelStageExternalMedia")
    def stage_external_media(self, external_host, format, app=None, channel_id=None, encapsulation="",
                             transport="", connection_type="", direction="", variables=None, node=None,
                             dialog=None):
        """Stage an external media channel; ``.execute()`` creates it. Sends ChannelStageExternalMedia."""
        cid = channel_id or new_id("channel")
        args = dict(format=format, external_host=external_host, app=self._app(app), channel_id=cid,
                    encapsulation=encapsulation, transport=transport, connection_type=connection_type,
                    direction=direction, variables=variables)
        return self._stage("ChannelStageExternalMedia", "ChannelExternalMedia", self._key(cid, node, dialog), args)


@registered
class Bridges(Resource):
    """Bridges: ``list()``, ``get(id)``, ``create(type=...)``."""

    handle_class = Bridge
    __slots__ = ()
    list = _lister("BridgeList", "Every Bridge")
    get = _getter("BridgeGet", "The Bridge ``id``")

    @sends("BridgeCreate", also=[("bridges", "create")])
    def create(self, type="mixing", name="", bridge_id=None, node=None, dialog=None):
        """A new bridge (``type``: comma list of mixing, holding, dtmf_events, proxy_media, video_sfu...).
        Subscribed before the request. Sends BridgeCreate."""
        bid = bridge_id or new_id("bridge")
        return self._create("BridgeCreate", self._key(bid, node, dialog), type=type, name=name)

    @sends("BridgeStageCreate")
    def stage_create(self, type="mixing", name="", bridge_id=None, node=None, dialog=None):
        """Stage a bridge; ``.execute()`` creates it. Sends BridgeStageCreate."""
        bid = bridge_id or new_id("bridge")
        h = self._create("BridgeStageCreate", self._key(bid, node, dialog), type=type, name=name)

        def execute():
            self._send("BridgeCreate", h.key, type=type, name=name)
            return h
        return Staged(h, "BridgeCreate", execute)


@registered
class Playbacks(Resource):
    """Playbacks (created by ``channel.play()`` / ``bridge.play()``)."""

    handle_class = Playback
    __slots__ = ()
    get = _getter("PlaybackGet", "The Playback ``id``")


@registered
class LiveRecordings(Resource):
    """Recordings in progress."""

    handle_class = LiveRecording
    __slots__ = ()
    get = _getter("RecordingLiveGet", "The LiveRecording ``name``")


@registered
class StoredRecordings(Resource):
    """Stored recordings."""

    handle_class = StoredRecording
    __slots__ = ()
    list = _lister("RecordingStoredList", "Every StoredRecording")
    get = _getter("RecordingStoredGet", "The StoredRecording ``name``")


class Recordings(Resource):
    """``client.recordings.live`` and ``client.recordings.stored``."""

    __slots__ = ()

    @property
    def live(self):
        return self._client.live_recordings

    @property
    def stored(self):
        return self._client.stored_recordings


@registered
class Endpoints(Resource):
    """Endpoints (``PJSIP/alice``)."""

    handle_class = Endpoint
    __slots__ = ()
    list = _lister("EndpointList", "Every Endpoint")

    @sends("EndpointGet")
    def get(self, tech, resource=None, node=None):
        """The Endpoint ``tech/resource`` (or ``get("PJSIP/alice")``); raises NotFound. Sends EndpointGet."""
        return self._get(tech if resource is None else "%s/%s" % (tech, resource), node)

    def handle(self, tech, resource=None, node=None, dialog=None):
        return Endpoint(self._client, self._key(tech if resource is None else "%s/%s" % (tech, resource),
                                                node, dialog))

    @sends("EndpointListByTech")
    def list_by_tech(self, tech, node=None):
        """Endpoints of technology ``tech``, from every server. Sends EndpointListByTech."""
        return self._list("EndpointListByTech", node, tech=tech)

    @sends(ari=("endpoints", "sendMessage"))
    def send_message(self, to, from_, body="", variables=None, node=None):
        """Send a text message to the URI ``to`` (generic kind)."""
        params = {"to": to, "from": from_}
        if body:
            params["body"] = body
        if variables:
            params["variables"] = dict(variables)
        self._client.generic("endpoints", "sendMessage", params, key=self._scope_key(node))

    @sends(ari=("endpoints", "refer"))
    def refer(self, to, from_, refer_to, to_self=False, node=None):
        """Send a REFER to the URI ``to`` (generic kind)."""
        params = {"to": to, "from": from_, "refer_to": refer_to}
        if to_self:
            params["to_self"] = True
        self._client.generic("endpoints", "refer", params, key=self._scope_key(node))


@registered
class DeviceStates(Resource):
    """Device states controlled by ARI (``Stasis:<name>``)."""

    handle_class = DeviceState
    __slots__ = ()
    list = _lister("DeviceStateList", "Every DeviceState")
    get = _getter("DeviceStateGet", "The DeviceState ``name``")


@registered
class Mailboxes(Resource):
    """Mailboxes."""

    handle_class = Mailbox
    __slots__ = ()
    list = _lister("MailboxList", "Every Mailbox")
    get = _getter("MailboxGet", "The Mailbox ``name``")


@registered
class Sounds(Resource):
    """Sounds."""

    handle_class = Sound
    __slots__ = ()

    @sends("SoundList")
    def list(self, lang="", format="", node=None):
        """Every Sound (optionally of a language / format), from every server. Sends SoundList."""
        return self._list("SoundList", node, lang=lang, format=format)

    def get(self, id, node=None):
        """A Sound handle (no request: there is no Get kind for sounds; ``data()`` asks)."""
        return self.handle(id, node)


@registered
class Modules(Resource):
    """Asterisk modules."""

    handle_class = Module
    __slots__ = ()
    list = _lister("AsteriskModuleList", "Every Module")
    get = _getter("AsteriskModuleGet", "The Module ``name``")


@registered
class Logging(Resource):
    """Logging channels."""

    handle_class = LoggingChannel
    __slots__ = ()
    list = _lister("AsteriskLoggingList", "Every LoggingChannel")
    get = _getter("AsteriskLoggingGet", "The LoggingChannel ``name``")

    @sends("AsteriskLoggingCreate")
    def create(self, name, config, node=None):
        """Add logging channel ``name`` with levels ``config`` ("notice,warning" or a list).
        Sends AsteriskLoggingCreate."""
        h = LoggingChannel(self._client, self._key(name, node))
        resp = self._send("AsteriskLoggingCreate", h.key, config=config)
        h._adopt(resp.key)
        return h


@registered
class Config(Resource):
    """Dynamic configuration objects (``client.config.get("res_pjsip", "endpoint", "alice")``)."""

    handle_class = ConfigObject
    __slots__ = ()

    def get(self, config_class, object_type, id, node=None):
        """The ConfigObject handle (no request; ``data()``, ``update()``, ``delete()`` ask)."""
        return self.handle("%s/%s/%s" % (config_class, object_type, id), node)


@registered
class Events(Resource):
    """User events and channel claims (ARI ``events`` resource)."""

    __slots__ = ()

    @sends(ari=("events", "userEvent"))
    def user_event(self, name, source=None, variables=None, application=None, node=None):
        """Raise user event ``name`` (``source``: event source string or handle; generic kind)."""
        from .handles import _event_source
        params = {"eventName": name, "application": application or self._client.application or ""}
        if source is not None:
            params["source"] = _event_source(source)
        if variables:
            params["variables"] = dict(variables)
        self._client.generic("events", "userEvent", params, key=self._scope_key(node))

    @sends(ari=("events", "claimChannel"))
    def claim_channel(self, channel, application=None, node=None):
        """Claim a channel for ``application`` (generic kind)."""
        params = {"channelId": entity_id(channel), "application": application or self._client.application or ""}
        self._client.generic("events", "claimChannel", params, key=self._scope_key(node))


_ACCESSORS = {
    "asterisk": Asterisk, "variables": Variables, "applications": Applications, "channels": Channels,
    "bridges": Bridges, "playbacks": Playbacks, "live_recordings": LiveRecordings,
    "stored_recordings": StoredRecordings, "recordings": Recordings, "endpoints": Endpoints,
    "device_states": DeviceStates, "mailboxes": Mailboxes, "sounds": Sounds, "modules": Modules,
    "logging": Logging, "config": Config, "events": Events,
}


def attach_resources(client):
    """Give ``client`` its accessors (small objects: a child client stays light)."""
    for name, cls in _ACCESSORS.items():
        setattr(client, name, cls(client))
