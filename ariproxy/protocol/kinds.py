"""The request kinds table: each of the Go server's 111 kinds, as a row.

For every kind: its subject class (``get``, ``get-list``, ``data``,
``command``, ``create``), its payload field, the ARI operation it maps to
(``resource``, ``operation`` = the spec's nickname, or None for staging kinds
and kinds with no ARI call), the kind of the key it addresses, the
EntityData field of its data response, the kind of key it answers with, and
how its payload maps to ARI parameters (``ariproxy.protocol.codecs``).

Server side::

    spec = KINDS[request.kind]
    call = spec.plan(request, app=my_app)        # ProtocolError names a missing/malformed field
    # call.resource/call.operation (None: no ARI call), call.path_params, call.params,
    # call.result: Key(kind, id) of the entity to answer with (creates, gets), or None,
    # call.bindings: Keys (kind, id) a dialog in request.key binds to (PROTOCOL.md 8),
    # call.select: for the logging Get/Data kinds, the list item to pick by its "channel".
    result = ari.call(call.resource, call.operation, **call.all_params) if call.operation else None
    response = spec.answer(request, call, result, node, app)   # shaped like the Go server's replies

Client side::

    payload = KINDS["ChannelDial"].build_payload(caller="c1", timeout=30)   # Go's shape, ns durations
    request = KINDS["ChannelDial"].request(key, caller="c1", timeout=30)

No I/O.  Ids the server must invent (an originate without ``channelId``, a
play without ``playback_id``) are generated in ``plan``: ``<32 hex>-<tag>``.
"""
import uuid
from typing import NamedTuple

from ariproxy.errors import NotFound, ProtocolError

from . import codecs
from .messages import EntityData, Key, Request, Response
from .operations import ARI_OPERATIONS
from .wire import short

__all__ = ["KindSpec", "KINDS", "AriCall", "CLASSES", "STAGING_KINDS", "KEY_PATH_PARAMS",
           "entity_id", "new_id", "key_path_params"]

#: request classes of the kinds table
CLASSES = ("get", "get-list", "data", "command", "create")

#: the ARI path parameter(s) a key kind's id fills
KEY_PATH_PARAMS = {
    "application": ("applicationName",),
    "bridge": ("bridgeId",),
    "channel": ("channelId",),
    "config": ("configClass", "objectType", "id"),       # id is "class/type/id"
    "devicestate": ("deviceName",),
    "endpoint": ("tech", "resource"),                     # id is "tech/resource"
    "liverecording": ("recordingName",),
    "logging": ("logChannelName",),
    "mailbox": ("mailboxName",),
    "module": ("moduleName",),
    "playback": ("playbackId",),
    "sound": ("soundId",),
    "storedrecording": ("recordingName",),
}

# which field of an ARI model is its id, per key kind
_ID_FIELDS = {
    "application": "name", "bridge": "id", "channel": "id", "devicestate": "name", "liverecording": "name",
    "logging": "channel", "mailbox": "name", "module": "name", "playback": "id", "sound": "id",
    "storedrecording": "name",
}

# short tags for generated ids (the Go rid package's style)
_ID_TAGS = {"channel": "ch", "bridge": "br", "playback": "pb", "liverecording": "rec", "storedrecording": "rec"}


def new_id(kind):
    """A fresh id for an entity of ``kind`` the caller did not name."""
    return "%s-%s" % (uuid.uuid4().hex, _ID_TAGS.get(kind, "id"))


def entity_id(kind, obj):
    """The id of an ARI model object as a Key of ``kind`` carries it ("" when absent).

    Endpoints are ``technology/resource``; logging channels are named by ``channel``.
    """
    if not isinstance(obj, dict):
        return ""
    if kind == "endpoint":
        tech, res = obj.get("technology"), obj.get("resource")
        if isinstance(tech, str) and isinstance(res, str) and tech and res:
            return tech + "/" + res
        return ""
    value = obj.get(_ID_FIELDS.get(kind, "id"))
    return value if isinstance(value, str) else ""


def key_path_params(key_kind, entity, what="key.id"):
    """ARI path parameters for an entity id of ``key_kind`` (splitting endpoint/config ids)."""
    names = KEY_PATH_PARAMS[key_kind]
    if not entity:
        raise ProtocolError("%s is required" % what)
    if not isinstance(entity, str):
        raise ProtocolError("%s: expected a string" % what)
    if len(names) == 1:
        return {names[0]: entity}
    parts = entity.split("/", len(names) - 1)
    if len(parts) != len(names) or not all(parts):
        raise ProtocolError("%s %s must look like %s" % (what, short(entity), "/".join(names)))
    return dict(zip(names, parts))


class AriCall(NamedTuple):
    """What a request asks the server to do (see the module docstring)."""

    resource: str = None
    operation: str = None
    path_params: dict = {}
    params: dict = {}
    result: Key = None
    bindings: tuple = ()
    select: str = None

    @property
    def all_params(self):
        """Path and other parameters in one dict (what ``ari.call`` takes as keywords)."""
        if not self.path_params:
            return dict(self.params)
        merged = dict(self.params)
        merged.update(self.path_params)
        return merged


class KindSpec:
    """One row of the kinds table (see the module docstring).

    Attributes: ``kind``, ``cls``, ``payload_field`` (None if none),
    ``payload_fields`` (accepted payload fields, the main one first),
    ``resource``/``operation`` (None when no single ARI call), ``key_kind``,
    ``data_field``, ``result_kind``, ``list_kind`` (key kind of a list's
    keys), ``staging`` + ``stages`` (the kind a staging kind stands in for),
    ``unbinds`` (Unsubscribe: drop the dialog binding).
    """

    __slots__ = ("kind", "cls", "payload_field", "payload_fields", "resource", "operation", "key_kind",
                 "data_field", "result_kind", "list_kind", "staging", "stages", "unbinds",
                 "payload_required", "_reader", "_builder", "_finish", "_fixed", "_key_mode")

    def __init__(self, kind, cls, payload_field, resource, operation, key_kind, data_field=None,
                 result_kind=None, list_kind=None, stages=None, alt_payload_fields=(), reader=None,
                 builder=None, finish=None, fixed=None, key_mode="required", payload_required=None,
                 unbinds=False):
        self.kind = kind
        self.cls = cls
        self.payload_field = payload_field
        self.payload_fields = tuple(f for f in (payload_field,) + tuple(alt_payload_fields) if f)
        self.resource = resource
        self.operation = operation
        self.key_kind = key_kind
        self.data_field = data_field
        self.result_kind = result_kind
        self.list_kind = list_kind
        self.stages = stages
        self.staging = stages is not None
        self.unbinds = unbinds
        self._reader = reader if reader is not None else codecs.READERS.get(payload_field)
        self._builder = builder if builder is not None else codecs.BUILDERS.get(payload_field)
        self._finish = finish
        self._fixed = fixed or {}
        self._key_mode = key_mode            # "required" | "optional" | "none"
        if payload_required is None:
            payload_required = payload_field is not None and payload_field not in _OPTIONAL_PAYLOADS
        self.payload_required = payload_required

    def __repr__(self):
        op = "%s.%s" % (self.resource, self.operation) if self.operation else "-"
        return "KindSpec(%s, %s, %s, %s)" % (self.kind, self.cls, self.payload_field or "-", op)

    @property
    def is_list(self):
        return self.cls == "get-list"

    # ------------------------------------------------------------ server side

    def read_payload(self, request):
        """The request's payload as ARI parameters ({} when the kind has none)."""
        payload = request.payload if request.payload_field in self.payload_fields else None
        if payload is None:
            if self.payload_required:
                raise ProtocolError("%s: payload %s is required" % (self.kind, self.payload_field))
            payload = {}
        if self._reader is None:
            return {}
        reader = self._reader
        if request.payload_field != self.payload_field and request.payload_field:
            reader = codecs.READERS[request.payload_field]
        return reader(payload)

    def plan(self, request, app=None):
        """The ARI call (and answer key, dialog bindings) for ``request``; ProtocolError if malformed.

        ``app`` is the server's ARI application, used where ARI needs an app
        the request left empty.
        """
        key = request.key
        params = self.read_payload(request)
        path = {}
        if self._key_mode == "required" and self.key_kind in KEY_PATH_PARAMS:
            path = key_path_params(self.key_kind, key.id)
        if self._fixed:
            params.update(self._fixed)
        result = None
        bindings = ()
        if key.id and self.key_kind:
            bindings = (Key(self.key_kind, key.id),)
            if self.cls == "get" and not self.staging:
                result = Key(self.key_kind, key.id)
        call = AriCall(self.resource, self.operation, path, params, result, bindings)
        if self._finish is not None:
            call = self._finish(self, request, call, app)
        if self.staging:
            call = call._replace(resource=None, operation=None)
        return call

    def to_ari(self, request, app=None):
        """``(path_params, params)`` of the ARI operation; ProtocolError names a missing/bad field."""
        call = self.plan(request, app)
        return call.path_params, call.params

    def answer(self, request, call, result, node, app):
        """The Response for ``result`` (what ARI returned for ``call``; None when nothing was called).

        Shapes as the Go server's: lists -> ``keys`` (node and app filled);
        data -> EntityData with the entity's ``key``; gets, creates and
        staging -> ``key``; commands -> ``{"error":""}`` (RecordingStoredCopy
        also returns the copy's key).  Raises ``NotFound`` when a selected
        log channel is not in the list, ProtocolError when ARI's answer has
        an unexpected shape.
        """
        if call.select is not None:
            result = _select(result, call.select, self.key_kind)
        if self.cls == "get-list":
            if result is None:
                result = []
            if not isinstance(result, list):
                raise ProtocolError("%s: ARI returned %s, expected a list" % (self.kind, type(result).__name__))
            keys = []
            for item in result:
                entity = entity_id(self.list_kind, item)
                if entity:
                    keys.append(Key(self.list_kind, entity, node, "", app))
            return Response(keys=keys)
        if self.cls == "data":
            return Response(data=self._entity_data(request, result, node, app))
        if call.result is not None:
            if self.result_kind == "bridge" and request.key.id:
                # Go answers a bridge create with the request's own key (dialog included)
                key = request.key.with_(kind="bridge", node=node, app=app)
            else:
                key = Key(call.result.kind, call.result.id, node, "", app)
            return Response(key=key)
        return Response()

    def _entity_data(self, request, result, node, app):
        field = self.data_field
        if field == "variable":
            value = result.get("value") if isinstance(result, dict) else result
            if value is None:
                value = ""
            if not isinstance(value, str):
                value = str(value)
            return EntityData("variable", value)
        if self.key_kind == "config":
            parts = request.key.id.split("/", 2)
            result = {"Class": parts[0], "Type": parts[1], "Name": parts[2], "Fields": result or []}
        if not isinstance(result, dict):
            raise ProtocolError("%s: ARI returned %s, expected an object" % (self.kind, type(result).__name__))
        if self.key_kind is None:
            return EntityData(field, result)
        entity = entity_id(self.key_kind, result) or request.key.id
        return EntityData.build(field, result, Key(self.key_kind, entity, node, "", app))

    # ------------------------------------------------------------ client side

    def build_payload(self, **kwargs):
        """The payload object as a Go client writes it, from Pythonic arguments (None if no payload).

        Durations are seconds (int/float/timedelta) and become Go nanoseconds.
        """
        if self._builder is None:
            if kwargs:
                raise TypeError("%s takes no payload arguments (got %s)" % (self.kind, ", ".join(sorted(kwargs))))
            return None
        return self._builder(**kwargs)

    def request(self, key=None, **kwargs):
        """A Request of this kind for ``key`` with the payload built from ``kwargs``."""
        payload = self.build_payload(**kwargs)
        return Request(self.kind, key, self.payload_field if payload is not None else None, payload)


# payloads the Go server tolerates missing (an empty options object is meaningful)
_OPTIONAL_PAYLOADS = frozenset(["channel_hangup", "channel_mute", "channel_moh", "bridge_moh",
                                "channel_continue", "sound_list", "bridge_create", "asterisk_variable_set",
                                "channel_dial"])


# ---------------------------------------------------------------- finishers (kind-specific glue)

def _global_variable(spec, request, call, app):
    name = request.key.id
    if not name:
        raise ProtocolError("%s: key.id (the variable name) is required" % spec.kind)
    params = dict(call.params)
    params["variable"] = name
    return call._replace(params=params, bindings=())


def _with_id(spec, request, call, app, kind, id_param, in_path, generated_from=None):
    """Move/generate the id of the entity the request creates; answer with its key."""
    params = dict(call.params)
    path = dict(call.path_params)
    entity = params.pop(id_param, "") or generated_from or new_id(kind)
    if in_path:
        path[id_param] = entity
    else:
        params[id_param] = entity
    bindings = tuple(call.bindings) + (Key(kind, entity),)
    return call._replace(path_params=path, params=params, result=Key(kind, entity), bindings=bindings)


def _bridge_create(spec, request, call, app):
    call = _with_id(spec, request, call, app, "bridge", "bridgeId", True, generated_from=request.key.id)
    return call._replace(bindings=(call.result,))


def _play(spec, request, call, app):
    return _with_id(spec, request, call, app, "playback", "playbackId", True)


def _record(spec, request, call, app):
    name = call.params["name"]
    result = Key("liverecording", name)
    return call._replace(result=result, bindings=tuple(call.bindings) + (result,))


def _default_app(params, app):
    if not params.get("app") and app:
        params["app"] = app


def _channel_create(spec, request, call, app):
    params = dict(call.params)
    _default_app(params, app)
    call = _with_id(spec, request, call._replace(params=params), app, "channel", "channelId", False)
    return _bind_other_channels(call)


def _originate(spec, request, call, app):
    params = dict(call.params)
    if not params.get("app") and not params.get("extension"):
        _default_app(params, app)
    call = _with_id(spec, request, call._replace(params=params), app, "channel", "channelId", False)
    return _bind_other_channels(call)


def _bind_other_channels(call):
    extra = tuple(Key("channel", call.params[n]) for n in ("otherChannelId", "originator") if call.params.get(n))
    return call._replace(bindings=tuple(call.bindings) + extra)


def _external_media(spec, request, call, app):
    params = dict(call.params)
    _default_app(params, app)
    return _with_id(spec, request, call._replace(params=params), app, "channel", "channelId", False)


def _stage_originate(spec, request, call, app):
    # The Go client's StageExternalMedia sends kind ChannelStageOriginate with a
    # channel_external_media payload (the Go server crashes on it); serve both.
    if request.payload_field == "channel_external_media":
        return _external_media(spec, request, call, app)
    return _originate(spec, request, call, app)


def _snoop(spec, request, call, app):
    params = dict(call.params)
    _default_app(params, app)
    return _with_id(spec, request, call._replace(params=params), app, "channel", "snoopId", True)


def _second_channel(param):
    def finish(spec, request, call, app):
        other = call.params.get(param) or call.path_params.get(param)
        if other:
            return call._replace(bindings=tuple(call.bindings) + (Key("channel", other),))
        return call
    return finish


def _video_source(spec, request, call, app):
    path = dict(call.path_params)
    params = dict(call.params)
    path["channelId"] = params.pop("channelId")
    return _second_channel("channelId")(spec, request, call._replace(path_params=path, params=params), app)


def _user_event(spec, request, call, app):
    path = {"eventName": call.params["eventName"]}
    params = {k: v for k, v in call.params.items() if k != "eventName"}
    application = request.key.app or app
    if not application:
        raise ProtocolError("ChannelUserEvent: no application (key.app) to send the event as")
    params["application"] = application
    params["source"] = "channel:" + request.key.id
    return call._replace(path_params=path, params=params)


def _stored_copy(spec, request, call, app):
    return call._replace(result=Key("storedrecording", call.params["destinationRecordingName"]))


def _list_by_tech(spec, request, call, app):
    params = dict(call.params)
    return call._replace(path_params={"tech": params.pop("tech")}, params=params)


def _select_logging(spec, request, call, app):
    if not request.key.id:
        raise ProtocolError("%s: key.id (the log channel) is required" % spec.kind)
    return call._replace(path_params={}, select=request.key.id)


def _select(items, name, key_kind):
    """The item of a list ARI answer whose id is ``name`` (log channels are only listed)."""
    if not isinstance(items, list):
        raise ProtocolError("ARI returned %s, expected a list" % type(items).__name__)
    suffix = "/" + name
    fallback = None
    for item in items:
        entity = entity_id(key_kind, item)
        if entity == name:
            return item
        # Asterisk lists file log channels by full path; callers name them as created
        if fallback is None and entity.endswith(suffix):
            fallback = item
    if fallback is not None:
        return fallback
    raise NotFound("%s %s not found" % (key_kind, short(name)))


# ---------------------------------------------------------------- the table

def _rows():
    S = KindSpec
    R = "required"
    N = "none"
    O = "optional"
    rows = [
        # applications
        S("ApplicationData", "data", None, "applications", "get", "application", data_field="application"),
        S("ApplicationGet", "get", None, "applications", "get", "application"),
        S("ApplicationList", "get-list", None, "applications", "list", None, list_kind="application", key_mode=N),
        S("ApplicationSubscribe", "command", "application_subscribe", "applications", "subscribe", "application"),
        S("ApplicationUnsubscribe", "command", "application_subscribe", "applications", "unsubscribe",
          "application"),
        # asterisk: config, info, logging, modules, variables
        S("AsteriskConfigData", "data", None, "asterisk", "getObject", "config", data_field="config"),
        S("AsteriskConfigDelete", "command", None, "asterisk", "deleteObject", "config"),
        S("AsteriskConfigUpdate", "command", "asterisk_config", "asterisk", "updateObject", "config"),
        S("AsteriskInfo", "data", None, "asterisk", "getInfo", None, data_field="asterisk", key_mode=N),
        S("AsteriskLoggingCreate", "create", "asterisk_logging_channel", "asterisk", "addLog", "logging",
          result_kind="logging", finish=lambda s, r, c, a: c._replace(result=Key("logging", r.key.id))),
        S("AsteriskLoggingData", "data", None, "asterisk", "listLogChannels", "logging", data_field="log",
          finish=_select_logging),
        S("AsteriskLoggingDelete", "command", None, "asterisk", "deleteLog", "logging"),
        S("AsteriskLoggingGet", "get", None, "asterisk", "listLogChannels", "logging", finish=_select_logging),
        S("AsteriskLoggingList", "get-list", None, "asterisk", "listLogChannels", None, list_kind="logging",
          key_mode=N),
        S("AsteriskLoggingRotate", "command", None, "asterisk", "rotateLog", "logging"),
        S("AsteriskModuleData", "data", None, "asterisk", "getModule", "module", data_field="module"),
        S("AsteriskModuleGet", "get", None, "asterisk", "getModule", "module"),
        S("AsteriskModuleList", "get-list", None, "asterisk", "listModules", None, list_kind="module", key_mode=N),
        S("AsteriskModuleLoad", "command", None, "asterisk", "loadModule", "module"),
        S("AsteriskModuleReload", "command", None, "asterisk", "reloadModule", "module"),
        S("AsteriskModuleUnload", "command", None, "asterisk", "unloadModule", "module"),
        S("AsteriskVariableGet", "data", None, "asterisk", "getGlobalVar", "variable", data_field="variable",
          key_mode=N, finish=_global_variable),
        S("AsteriskVariableSet", "command", "asterisk_variable_set", "asterisk", "setGlobalVar", "variable",
          key_mode=N, finish=_global_variable),
        # bridges
        S("BridgeAddChannel", "command", "bridge_add_channel", "bridges", "addChannel", "bridge",
          finish=_second_channel("channel")),
        S("BridgeCreate", "create", "bridge_create", "bridges", "createWithId", "bridge", result_kind="bridge",
          key_mode=O, finish=_bridge_create),
        S("BridgeData", "data", None, "bridges", "get", "bridge", data_field="bridge"),
        S("BridgeDelete", "command", None, "bridges", "destroy", "bridge"),
        S("BridgeGet", "get", None, "bridges", "get", "bridge"),
        S("BridgeList", "get-list", None, "bridges", "list", None, list_kind="bridge", key_mode=N),
        S("BridgeMOH", "command", "bridge_moh", "bridges", "startMoh", "bridge"),
        S("BridgePlay", "create", "bridge_play", "bridges", "playWithId", "bridge", result_kind="playback",
          finish=_play),
        S("BridgeRecord", "create", "bridge_record", "bridges", "record", "bridge", result_kind="liverecording",
          finish=_record),
        S("BridgeRemoveChannel", "command", "bridge_remove_channel", "bridges", "removeChannel", "bridge",
          finish=_second_channel("channel")),
        S("BridgeStageCreate", "create", "bridge_create", None, None, "bridge", result_kind="bridge",
          key_mode=O, stages="BridgeCreate", finish=_bridge_create),
        S("BridgeStagePlay", "get", "bridge_play", None, None, "bridge", result_kind="playback",
          stages="BridgePlay", finish=_play),
        S("BridgeStageRecord", "get", "bridge_record", None, None, "bridge", result_kind="liverecording",
          stages="BridgeRecord", finish=_record),
        S("BridgeStopMOH", "command", None, "bridges", "stopMoh", "bridge"),
        S("BridgeSubscribe", "command", None, None, None, "bridge", key_mode=O),
        S("BridgeUnsubscribe", "command", None, None, None, "bridge", key_mode=O, unbinds=True),
        S("BridgeVideoSource", "command", "bridge_video_source", "bridges", "setVideoSource", "bridge",
          finish=_video_source),
        S("BridgeVideoSourceDelete", "command", None, "bridges", "clearVideoSource", "bridge"),
        # channels
        S("ChannelAnswer", "command", None, "channels", "answer", "channel"),
        S("ChannelBusy", "command", None, "channels", "hangup", "channel", fixed={"reason": "busy"}),
        S("ChannelCongestion", "command", None, "channels", "hangup", "channel", fixed={"reason": "congestion"}),
        S("ChannelContinue", "command", "channel_continue", "channels", "continueInDialplan", "channel"),
        S("ChannelCreate", "create", "channel_create", "channels", "create", "channel", result_kind="channel",
          key_mode=N, finish=_channel_create),
        S("ChannelData", "data", None, "channels", "get", "channel", data_field="channel"),
        S("ChannelDial", "command", "channel_dial", "channels", "dial", "channel", finish=_second_channel("caller")),
        S("ChannelExternalMedia", "create", "channel_external_media", "channels", "externalMedia", "channel",
          result_kind="channel", key_mode=N, finish=_external_media),
        S("ChannelGet", "get", None, "channels", "get", "channel"),
        S("ChannelHangup", "command", "channel_hangup", "channels", "hangup", "channel"),
        S("ChannelHold", "command", None, "channels", "hold", "channel"),
        S("ChannelList", "get-list", None, "channels", "list", None, list_kind="channel", key_mode=N),
        S("ChannelMOH", "command", "channel_moh", "channels", "startMoh", "channel"),
        S("ChannelMute", "command", "channel_mute", "channels", "mute", "channel"),
        S("ChannelOriginate", "create", "channel_originate", "channels", "originate", "channel",
          result_kind="channel", key_mode=N, finish=_originate),
        S("ChannelPlay", "create", "channel_play", "channels", "playWithId", "channel", result_kind="playback",
          finish=_play),
        S("ChannelRecord", "create", "channel_record", "channels", "record", "channel",
          result_kind="liverecording", finish=_record),
        S("ChannelRing", "command", None, "channels", "ring", "channel"),
        S("ChannelSendDTMF", "command", "channel_send_dtmf", "channels", "sendDTMF", "channel"),
        S("ChannelSilence", "command", None, "channels", "startSilence", "channel"),
        S("ChannelSnoop", "create", "channel_snoop", "channels", "snoopChannelWithId", "channel",
          result_kind="channel", finish=_snoop),
        S("ChannelStageOriginate", "create", "channel_originate", None, None, "channel", result_kind="channel",
          key_mode=N, stages="ChannelOriginate", alt_payload_fields=("channel_external_media",),
          finish=_stage_originate),
        S("ChannelStageExternalMedia", "create", "channel_external_media", None, None, "channel",
          result_kind="channel", key_mode=N, stages="ChannelExternalMedia", finish=_external_media),
        S("ChannelStagePlay", "get", "channel_play", None, None, "channel", result_kind="playback",
          stages="ChannelPlay", finish=_play),
        S("ChannelStageRecord", "get", "channel_record", None, None, "channel", result_kind="liverecording",
          stages="ChannelRecord", finish=_record),
        S("ChannelStageSnoop", "get", "channel_snoop", None, None, "channel", result_kind="channel",
          stages="ChannelSnoop", finish=_snoop),
        S("ChannelStopHold", "command", None, "channels", "unhold", "channel"),
        S("ChannelStopMOH", "command", None, "channels", "stopMoh", "channel"),
        S("ChannelStopRing", "command", None, "channels", "ringStop", "channel"),
        S("ChannelStopSilence", "command", None, "channels", "stopSilence", "channel"),
        S("ChannelSubscribe", "command", None, None, None, "channel", key_mode=O),
        S("ChannelUnmute", "command", "channel_mute", "channels", "unmute", "channel"),
        S("ChannelUserEvent", "command", "channel_user_event", "events", "userEvent", "channel",
          finish=_user_event),
        S("ChannelVariableGet", "data", "channel_variable", "channels", "getChannelVar", "channel",
          data_field="variable", reader=codecs.read_channel_variable_get, builder=codecs.build_channel_variable_get),
        S("ChannelVariableSet", "command", "channel_variable", "channels", "setChannelVar", "channel",
          reader=codecs.read_channel_variable_set, builder=codecs.build_channel_variable_set),
        # device states
        S("DeviceStateData", "data", None, "deviceStates", "get", "devicestate", data_field="device_state"),
        S("DeviceStateDelete", "command", None, "deviceStates", "delete", "devicestate"),
        S("DeviceStateGet", "get", None, "deviceStates", "get", "devicestate"),
        S("DeviceStateList", "get-list", None, "deviceStates", "list", None, list_kind="devicestate", key_mode=N),
        S("DeviceStateUpdate", "command", "device_state_update", "deviceStates", "update", "devicestate"),
        # endpoints
        S("EndpointData", "data", None, "endpoints", "get", "endpoint", data_field="endpoint"),
        S("EndpointGet", "get", None, "endpoints", "get", "endpoint"),
        S("EndpointList", "get-list", None, "endpoints", "list", None, list_kind="endpoint", key_mode=N),
        S("EndpointListByTech", "get-list", "endpoint_list_by_tech", "endpoints", "listByTech", None,
          list_kind="endpoint", key_mode=N, finish=_list_by_tech),
        # mailboxes
        S("MailboxData", "data", None, "mailboxes", "get", "mailbox", data_field="mailbox"),
        S("MailboxDelete", "command", None, "mailboxes", "delete", "mailbox"),
        S("MailboxGet", "get", None, "mailboxes", "get", "mailbox"),
        S("MailboxList", "get-list", None, "mailboxes", "list", None, list_kind="mailbox", key_mode=N),
        S("MailboxUpdate", "command", "mailbox_update", "mailboxes", "update", "mailbox"),
        # playbacks
        S("PlaybackControl", "command", "playback_control", "playbacks", "control", "playback"),
        S("PlaybackData", "data", None, "playbacks", "get", "playback", data_field="playback"),
        S("PlaybackGet", "get", None, "playbacks", "get", "playback"),
        S("PlaybackStop", "command", None, "playbacks", "stop", "playback"),
        S("PlaybackSubscribe", "command", None, None, None, "playback", key_mode=O),
        # live recordings
        S("RecordingLiveData", "data", None, "recordings", "getLive", "liverecording", data_field="live_recording"),
        S("RecordingLiveGet", "get", None, "recordings", "getLive", "liverecording"),
        S("RecordingLiveMute", "command", None, "recordings", "mute", "liverecording"),
        S("RecordingLivePause", "command", None, "recordings", "pause", "liverecording"),
        S("RecordingLiveResume", "command", None, "recordings", "unpause", "liverecording"),
        S("RecordingLiveScrap", "command", None, "recordings", "cancel", "liverecording"),
        S("RecordingLiveStop", "command", None, "recordings", "stop", "liverecording"),
        S("RecordingLiveSubscribe", "command", None, None, None, "liverecording", key_mode=O),
        S("RecordingLiveUnmute", "command", None, "recordings", "unmute", "liverecording"),
        # stored recordings
        S("RecordingStoredCopy", "command", "recording_stored_copy", "recordings", "copyStored", "storedrecording",
          result_kind="storedrecording", finish=_stored_copy),
        S("RecordingStoredData", "data", None, "recordings", "getStored", "storedrecording",
          data_field="stored_recording"),
        S("RecordingStoredDelete", "command", None, "recordings", "deleteStored", "storedrecording"),
        S("RecordingStoredGet", "get", None, "recordings", "getStored", "storedrecording"),
        S("RecordingStoredList", "get-list", None, "recordings", "listStored", None, list_kind="storedrecording",
          key_mode=N),
        # sounds
        S("SoundData", "data", None, "sounds", "get", "sound", data_field="sound"),
        S("SoundList", "get-list", "sound_list", "sounds", "list", None, list_kind="sound", key_mode=N),
    ]
    for spec in rows:
        if spec.cls == "get" and not spec.staging and spec.result_kind is None and spec.key_kind:
            spec.result_kind = spec.key_kind
        if spec.operation is not None and (spec.resource, spec.operation) not in ARI_OPERATIONS:
            raise AssertionError("%s names unknown ARI operation %s.%s" % (spec.kind, spec.resource, spec.operation))
    return {spec.kind: spec for spec in rows}


#: kind name -> KindSpec, for the 111 kinds of the Go server
KINDS = _rows()

#: staging kinds (PROTOCOL.md 10): answer with the key, bind dialogs, call nothing
STAGING_KINDS = frozenset(k for k, s in KINDS.items() if s.staging)
