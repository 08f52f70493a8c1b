"""The simulated ARI operations: one function per (resource, nickname) of the route table.

Each handler takes ``(ast, req)`` (the ``model.Asterisk`` and a ``Request``)
and returns ``(status, body)`` (``body`` a JSON-able object, ``bytes`` for a
binary answer, or None); errors are raised as ``model.Fault``.  Handlers never
block: timed behaviour is scheduled on the model.
"""
import struct
import uuid

from .model import (CONFIG_CLASSES, DEVICE_STATES, HANGUP_REASONS, MODULES, RECORDING_FORMATS,
                    SOUND_LANGS, SOUNDS, DEFAULT_SOUND_FORMATS, Channel, Fault, LiveRecording, Playback,
                    parse_callerid)

HANDLERS = {}


def op(resource, *nicknames):
    def register(func):
        for nick in nicknames:
            HANDLERS[(resource, nick)] = func
        return func
    return register


class Request:
    """Parameters of one ARI call: path parameters, query/body parameters (strings), JSON body."""

    def __init__(self, method, path_params, params, body):
        self.method = method
        self.path = path_params
        self.params = params
        self.body = body

    def get(self, name, default=None):
        if name in self.path:
            return self.path[name]
        value = self.params.get(name)
        if value is None or value == "":
            return default
        return value

    def list(self, name):
        value = self.params.get(name)
        if value is None:
            return []
        if isinstance(value, list):
            out = []
            for v in value:
                out.extend(str(v).split(","))
            return [v for v in out if v != ""]
        return [v for v in str(value).split(",") if v != ""]

    def int(self, name, default=None):
        value = self.get(name)
        if value is None:
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            return default  # Asterisk ignores unparsable numbers

    def bool(self, name, default=False):
        value = self.get(name)
        if value is None:
            return default
        return str(value).lower() in ("true", "yes", "1", "on")

    def variables(self, required=False, message="The 'variables' field is required"):
        body = self.body if isinstance(self.body, dict) else {}
        variables = body.get("variables")
        if variables is None:
            if required:
                raise Fault(400, message)
            return {}
        if not isinstance(variables, dict):
            raise Fault(400, "Error parsing request body")
        return {str(k): "" if v is None else str(v) for k, v in variables.items()}


def _created(location, body):
    return 201, body, [("Location", location)]


# ------------------------------------------------------------------ asterisk
@op("asterisk", "getInfo")
def get_info(ast, req):
    info = {
        "build": {"os": "Linux", "kernel": "6.1.0-sim", "machine": "x86_64", "options": "OPTIONAL_API",
                  "date": "2026-11-29 04:08:19 UTC", "user": "root"},
        "system": {"version": ast.version, "entity_id": ast.entity_id},
        "config": {"name": ast.system_name, "default_language": "en", "setid": {"user": "", "group": ""}},
        "status": {"startup_time": ast.startup, "last_reload_time": ast.startup},
    }
    only = req.list("only")
    if only:
        info = {k: v for k, v in info.items() if k in only}
    return 200, info


@op("asterisk", "ping")
def ping(ast, req):
    from .model import now_stamp
    return 200, {"ping": "pong", "timestamp": now_stamp(), "asterisk_id": ast.entity_id}


@op("asterisk", "listModules")
def list_modules(ast, req):
    return 200, [dict(m) for m in sorted(ast.modules.values(), key=lambda m: m["name"])]


@op("asterisk", "getModule")
def get_module(ast, req):
    mod = ast.modules.get(req.get("moduleName"))
    if mod is None:
        raise Fault(404, "Module could not be found in running modules")
    return 200, dict(mod)


@op("asterisk", "loadModule")
def load_module(ast, req):
    name = req.get("moduleName")
    if name in ast.modules:
        raise Fault(409, "Module is already loaded")
    if name not in MODULES:
        raise Fault(409, "Module could not be loaded")
    d, lvl, _r = MODULES[name]
    ast.modules[name] = {"name": name, "description": d, "use_count": 0, "status": "Running", "support_level": lvl}
    return 204, None


@op("asterisk", "unloadModule")
def unload_module(ast, req):
    if ast.modules.pop(req.get("moduleName"), None) is None:
        raise Fault(404, "Module not found in running modules")
    return 204, None


@op("asterisk", "reloadModule")
def reload_module(ast, req):
    name = req.get("moduleName")
    if name not in ast.modules:
        raise Fault(404, "Module not found in running modules")
    if not MODULES.get(name, (None, None, False))[2]:
        raise Fault(409, "Module does not support reloading")
    return 204, None


@op("asterisk", "listLogChannels")
def list_logs(ast, req):
    return 200, [dict(c) for _, c in sorted(ast.log_channels.items(), key=lambda kv: (kv[1]["type"], kv[0]))]


def _log_path(name):
    return name if name.startswith("/") else "/var/log/asterisk/" + name


@op("asterisk", "addLog")
def add_log(ast, req):
    path = _log_path(req.get("logChannelName"))
    config = req.get("configuration")
    if not config:
        raise Fault(400, "Log channel configuration is required")
    if path in ast.log_channels:
        raise Fault(409, "Log channel already exists")
    levels = "".join(level.strip().upper() + " " for level in config.split(",") if level.strip())
    ast.log_channels[path] = {"channel": path, "type": "File", "status": "Enabled", "configuration": levels}
    return 204, None


@op("asterisk", "deleteLog")
def delete_log(ast, req):
    if ast.log_channels.pop(_log_path(req.get("logChannelName")), None) is None:
        raise Fault(404, "Log channel does not exist")
    return 204, None


@op("asterisk", "rotateLog")
def rotate_log(ast, req):
    if _log_path(req.get("logChannelName")) not in ast.log_channels:
        raise Fault(404, "Log channel does not exist")
    return 204, None


@op("asterisk", "getGlobalVar")
def get_global_var(ast, req):
    name = req.get("variable")
    if not name:
        raise Fault(400, "Variable name is required")
    return 200, {"value": ast.global_vars.get(name, "")}


@op("asterisk", "setGlobalVar")
def set_global_var(ast, req):
    name = req.get("variable")
    if not name:
        raise Fault(400, "Variable name is required")
    ast.global_vars[name] = req.params.get("value") or ""
    return 204, None


def _config_class(ast, req):
    cls = req.get("configClass")
    if cls not in CONFIG_CLASSES:
        raise Fault(404, "configClass '%s' not found" % cls)
    otype = req.get("objectType")
    if otype not in CONFIG_CLASSES[cls]:
        raise Fault(404, "objectType '%s' not found" % otype)
    return (cls, otype, req.get("id"))


@op("asterisk", "getObject")
def get_object(ast, req):
    key = _config_class(ast, req)
    obj = ast.config_objects.get(key)
    if obj is None:
        raise Fault(404, "Object '%s' not found" % key[2])
    return 200, [{"attribute": k, "value": v} for k, v in obj.items()]


@op("asterisk", "updateObject")
def update_object(ast, req):
    key = _config_class(ast, req)
    body = req.body if isinstance(req.body, dict) else {}
    fields = body.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(f, dict) and "attribute" in f for f in fields):
        raise Fault(400, "Bad request")
    obj = ast.config_objects.setdefault(key, {})
    for f in fields:
        obj[str(f["attribute"])] = "" if f.get("value") is None else str(f.get("value"))
    return 200, [{"attribute": k, "value": v} for k, v in obj.items()]


@op("asterisk", "deleteObject")
def delete_object(ast, req):
    key = _config_class(ast, req)
    if ast.config_objects.pop(key, None) is None:
        raise Fault(404, "Object '%s' not found" % key[2])
    return 204, None


# ------------------------------------------------------------------ applications
@op("applications", "list")
def list_apps(ast, req):
    return 200, [ast.apps[n].model() for n in sorted(ast.apps)]


@op("applications", "get")
def get_app(ast, req):
    return 200, ast.get_app(req.get("applicationName")).model()


def _event_sources(ast, req):
    sources = req.list("eventSource")
    if not sources:
        raise Fault(400, "Missing parameter eventSource")
    out = []
    for src in sources:
        scheme, _, ident = src.partition(":")
        if scheme == "channel":
            if ident not in ast.channels:
                raise Fault(422, "Event source does not exist")
            out.append(("channel_ids", ident))
        elif scheme == "bridge":
            if ident not in ast.bridges:
                raise Fault(422, "Event source does not exist")
            out.append(("bridge_ids", ident))
        elif scheme == "endpoint":
            tech, _, resource = ident.partition("/")
            if (tech, resource) not in ast.endpoints:
                raise Fault(422, "Event source does not exist")
            out.append(("endpoint_ids", ident))
        elif scheme == "deviceState":
            out.append(("device_names", ident))
        else:
            raise Fault(400, "Invalid event source URI scheme")
    return out


@op("applications", "subscribe")
def subscribe(ast, req):
    app = ast.get_app(req.get("applicationName"))
    for kind, ident in _event_sources(ast, req):
        app.add(kind, ident)
    return 200, app.model()


@op("applications", "unsubscribe")
def unsubscribe(ast, req):
    app = ast.get_app(req.get("applicationName"))
    sources = _event_sources(ast, req) if not req.list("eventSource") else None
    if sources is None:
        sources = []
        for src in req.list("eventSource"):
            scheme, _, ident = src.partition(":")
            kind = {"channel": "channel_ids", "bridge": "bridge_ids", "endpoint": "endpoint_ids",
                    "deviceState": "device_names"}.get(scheme)
            if kind is None:
                raise Fault(400, "Invalid event source URI scheme")
            sources.append((kind, ident))
    for kind, ident in sources:
        if not app.subscribed(kind, ident):
            raise Fault(422, "Event source was not subscribed to")
    for kind, ident in sources:
        app.remove(kind, ident)
    return 200, app.model()


@op("applications", "filter")
def event_filter(ast, req):
    app = ast.get_app(req.get("applicationName"))
    body = req.body if req.body is not None else {}
    if not isinstance(body, dict):
        raise Fault(400, "Error parsing request body")
    body = body.get("filter", body) if isinstance(body.get("filter"), dict) else body
    allowed = body.get("allowed") or []
    disallowed = body.get("disallowed") or []
    for lst in (allowed, disallowed):
        if not isinstance(lst, list) or not all(isinstance(f, dict) and "type" in f for f in lst):
            raise Fault(400, "Invalid format for filter")
    app.allowed = [dict(f) for f in allowed]
    app.disallowed = [dict(f) for f in disallowed]
    return 200, app.model()


# ------------------------------------------------------------------ channels
@op("channels", "list")
def list_channels(ast, req):
    return 200, [c.model() for c in ast.channels.values()]


@op("channels", "get")
def get_channel(ast, req):
    return 200, ast.get_channel(req.get("channelId")).model()


@op("channels", "originate", "originateWithId")
def originate(ast, req):
    endpoint = req.get("endpoint")
    if not endpoint:
        raise Fault(400, "Endpoint must be specified")
    app = req.get("app")
    extension = req.get("extension")
    if not app and not extension:
        raise Fault(400, "Application or extension must be specified")
    args = [a for a in (req.get("appArgs") or "").split(",")] if req.get("appArgs") else []
    caller = parse_callerid(req.get("callerId")) if req.get("callerId") else None
    variables = req.variables()
    cname = variables.pop("CALLERID(name)", None)
    cnum = variables.pop("CALLERID(num)", None)
    chan, snapshot = ast.originate(endpoint, app=app, args=args, channel_id=req.get("channelId"),
                                   other_id=req.get("otherChannelId"), caller=caller, variables=variables,
                                   timeout=req.int("timeout", 30), context=req.get("context"),
                                   extension=extension, priority=req.int("priority", 1))
    if cname is not None or cnum is not None:
        if cname is not None:
            chan.caller["name"] = cname
        if cnum is not None:
            chan.caller["number"] = cnum
        snapshot["caller"] = dict(chan.caller)
    return 200, snapshot


@op("channels", "create")
def create(ast, req):
    endpoint = req.get("endpoint")
    if not endpoint:
        raise Fault(400, "Endpoint must be specified")
    app = req.get("app")
    if not app:
        raise Fault(400, "Application must be specified")
    args = req.get("appArgs").split(",") if req.get("appArgs") else []
    chan, snapshot = ast.originate(endpoint, app=app, args=args, channel_id=req.get("channelId"),
                                   other_id=req.get("otherChannelId"), variables=req.variables(),
                                   create_only=True)
    return 200, snapshot


@op("channels", "hangup")
def hangup(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    reason = req.get("reason")
    code = req.get("reason_code")
    if reason and code:
        raise Fault(400, "The reason and reason_code can't both be specified")
    cause = 16
    if reason:
        if reason not in HANGUP_REASONS:
            raise Fault(400, "Invalid reason for hangup reason provided", reason="Invalid Reason")
        cause = HANGUP_REASONS[reason]
    elif code:
        try:
            cause = int(code)
        except ValueError:
            raise Fault(400, "Invalid reason for hangup reason provided", reason="Invalid Reason")
    ast.soon(ast.hangup, chan, cause)
    return 204, None


@op("channels", "answer")
def answer(ast, req):
    chan = ast.stasis_channel(req.get("channelId"))
    if chan.state != "Up":
        ast.soon(ast.set_state, chan, "Up")
    return 204, None


def _simple(flag_setter):
    def handler(ast, req):
        chan = ast.stasis_channel(req.get("channelId"))
        flag_setter(ast, chan, req)
        return 204, None
    return handler


def _ring(ast, chan, req):
    chan.ringing = True  # indication only: Asterisk sends no event for it


def _hold_event(kind):
    def setter(ast, chan, req):
        chan.held = kind == "ChannelHold"
        if chan.tech != "Local":  # Local channels never publish hold (as recorded)
            ast.soon(ast.emit_channel, kind, chan)
    return setter


def _direction(req, message="Invalid direction specified"):
    direction = req.get("direction", "both")
    if direction not in ("both", "in", "out"):
        raise Fault(400, message)
    return direction


def _mute(ast, chan, req):
    d = _direction(req)
    chan.muted |= {"in", "out"} if d == "both" else {d}


def _unmute(ast, chan, req):
    d = _direction(req)
    chan.muted -= {"in", "out"} if d == "both" else {d}


HANDLERS[("channels", "ring")] = _simple(_ring)
HANDLERS[("channels", "ringStop")] = _simple(lambda ast, chan, req: setattr(chan, "ringing", False))
HANDLERS[("channels", "progress")] = _simple(lambda ast, chan, req: None)
HANDLERS[("channels", "hold")] = _simple(_hold_event("ChannelHold"))
HANDLERS[("channels", "unhold")] = _simple(_hold_event("ChannelUnhold"))
HANDLERS[("channels", "mute")] = _simple(_mute)
HANDLERS[("channels", "unmute")] = _simple(_unmute)
HANDLERS[("channels", "startMoh")] = _simple(lambda ast, chan, req: setattr(chan, "moh", req.get("mohClass", "default")))
HANDLERS[("channels", "stopMoh")] = _simple(lambda ast, chan, req: setattr(chan, "moh", None))
HANDLERS[("channels", "startSilence")] = _simple(lambda ast, chan, req: setattr(chan, "silence", True))
HANDLERS[("channels", "stopSilence")] = _simple(lambda ast, chan, req: setattr(chan, "silence", False))


@op("channels", "transfer_progress")
def transfer_progress(ast, req):
    ast.stasis_channel(req.get("channelId"))
    if req.get("states") not in ("channel_progress", "channel_answered", "channel_unavailable", "channel_declined"):
        raise Fault(400, "Invalid states value")
    return 204, None


@op("channels", "sendDTMF")
def send_dtmf(ast, req):
    chan = ast.stasis_channel(req.get("channelId"))
    dtmf = req.get("dtmf")
    if not dtmf:
        raise Fault(400, "DTMF is required")
    before = req.int("before", 0) / 1000.0
    between = req.int("between", 100) / 1000.0
    duration = req.int("duration", 100)
    t = before
    for digit in dtmf:
        if digit in ",":
            t += 0.5
            continue
        t += duration / 1000.0
        chan.timers.append(ast.later(t, ast.dtmf, chan, digit, duration))
        t += between
    return 204, None


@op("channels", "continueInDialplan")
def continue_in_dialplan(ast, req):
    chan = ast.stasis_channel(req.get("channelId"))
    ctx = req.get("context")
    ext = req.get("extension")
    prio = req.int("priority")

    def go():
        ast.leave_stasis(chan)
        if ctx:
            chan.dialplan["context"] = ctx
        if ext:
            chan.dialplan["exten"] = ext
        chan.dialplan["priority"] = prio or (1 if (ctx or ext) else chan.dialplan["priority"] + 1)
        chan.dialplan.update({"app_name": "", "app_data": ""})
    ast.soon(go)
    return 204, None


@op("channels", "move")
def move(ast, req):
    chan = ast.stasis_channel(req.get("channelId"))
    app = req.get("app")
    if not app:
        raise Fault(400, "Missing parameter app")
    args = req.get("appArgs").split(",") if req.get("appArgs") else []

    def go():
        if app not in ast.apps or ast.apps[app].socket is None:
            ast.emit_channel("ApplicationMoveFailed", chan, {"destination": app, "args": args}, apps=[chan.app])
            return
        old = chan.app
        ast.leave_stasis(chan)
        if old in ast.apps and old != app:
            ast.apps[old].remove("channel_ids", chan.id)
            ast.prune_apps()
        chan.app = app
        chan.dialplan.update({"app_name": "Stasis", "app_data": ",".join([app] + args)})
        ast.subscribe_channel(app, chan)
        ast.emit_channel("StasisStart", chan, {"args": args}, apps=[app])
    ast.soon(go)
    return 204, None


@op("channels", "redirect")
def redirect(ast, req):
    chan = ast.stasis_channel(req.get("channelId"))
    endpoint = req.get("endpoint")
    if not endpoint:
        raise Fault(400, "Redirect endpoint required")
    if "/" not in endpoint:
        raise Fault(422, "Endpoint parameter is not a valid endpoint")
    if chan.tech != "Local":  # the transfer takes the channel out of Stasis and hangs it up
        def go():
            ast.leave_stasis(chan)
            ast.hangup(chan, 16, by_ari=False)
        ast.soon(go)
    return 204, None


@op("channels", "dial")
def dial(ast, req):
    chan = ast.stasis_channel(req.get("channelId"))
    ast.dial(chan, req.get("caller"), req.int("timeout", 0))
    return 204, None


@op("channels", "getChannelVar")
def get_channel_var(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    name = req.get("variable")
    if not name:
        raise Fault(400, "Variable name is required")
    return 200, {"value": ast.get_var(chan, name)}


@op("channels", "setChannelVar")
def set_channel_var(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    name = req.get("variable")
    if not name:
        raise Fault(400, "Variable name is required")
    ast.set_var(chan, name, req.params.get("value") or "")
    return 204, None


@op("channels", "getChannelVars")
def get_channel_vars(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    names = req.list("variables")
    if not names:
        raise Fault(400, "Variables are required")
    return 200, {"variables": {n: ast.get_var(chan, n) for n in names}}


@op("channels", "setChannelVars")
def set_channel_vars(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    variables = req.variables(required=True)
    for name, value in variables.items():
        ast.set_var(chan, name, value)
    return 204, None


def _media(req):
    media = req.list("media")
    if not media:
        raise Fault(500, "Failed to queue media for playback")
    return media


@op("channels", "play", "playWithId")
def play_channel(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    if chan.app is None:
        raise Fault(409, "Channel not in Stasis application")
    media = _media(req)
    pid = req.get("playbackId") or str(uuid.uuid4())
    if pid in ast.playbacks:
        raise Fault(409, "Playback with id '%s' already exists" % pid)
    pb = Playback(pid, media, "channel:" + chan.id, req.get("lang") or chan.language)
    ast.start_playback(pb)
    return _created("/ari/playbacks/" + pid, pb.model())


def _record(ast, req, target_uri, from_bridge):
    name = req.get("name")
    fmt = req.get("format")
    if not name:
        raise Fault(400, "Recording name is required")
    if not fmt:
        raise Fault(400, "Recording format is required")
    if fmt not in RECORDING_FORMATS:
        raise Fault(422, "specified format is unknown on this system")
    if_exists = req.get("ifExists", "fail")
    if if_exists not in ("fail", "overwrite", "append"):
        raise Fault(400, "ifExists invalid")
    terminate_on = req.get("terminateOn", "none")
    if terminate_on not in ("none", "any", "*", "#"):
        raise Fault(400, "terminateOn invalid")
    if name in ast.live_recordings:
        raise Fault(409, "Recording '%s' is already in progress" % name)
    if name in ast.stored_recordings and if_exists == "fail":
        raise Fault(409, "Recording '%s' already exists and can not be overwritten" % name)
    rec = LiveRecording(name, fmt, target_uri, terminate_on=terminate_on,
                        max_silence=req.int("maxSilenceSeconds", 0), beep=req.bool("beep", False))
    ast.start_recording(rec, req.int("maxDurationSeconds", 0), from_bridge)
    return _created("/ari/recordings/live/" + name, rec.model())


@op("channels", "record")
def record_channel(ast, req):
    chan = ast.stasis_channel(req.get("channelId"))
    return _record(ast, req, "channel:" + chan.id, False)


def _snoop_direction(req, name):
    value = req.get(name, "none")
    if value not in ("none", "both", "out", "in"):
        raise Fault(400, "Invalid direction specified for %s" % name)
    return value


@op("channels", "snoopChannel", "snoopChannelWithId")
def snoop(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    spy = _snoop_direction(req, "spy")
    whisper = _snoop_direction(req, "whisper")
    if spy == "none" and whisper == "none":
        raise Fault(400, "Direction must be specified for at least spy or whisper")
    app = req.get("app")
    if not app:
        raise Fault(400, "Application name is required")
    ident = req.get("snoopId") or ast.new_channel_id()
    if ident in ast.channels:
        raise Fault(409, "Channel with given unique ID already exists")
    name = "Snoop/%s-%08x" % (chan.id, ast._snoop_counter)
    ast._snoop_counter += 1
    sn = Channel(ident, name, "Snoop", "Up")
    ast.add_channel(sn)
    snapshot = sn.model()
    args = req.get("appArgs").split(",") if req.get("appArgs") else []

    def go():
        sn.app = app
        sn.dialplan.update({"app_name": "Stasis", "app_data": ",".join([app] + args)})
        ast.subscribe_channel(app, sn)
        ast.emit_channel("StasisStart", sn, {"args": args}, apps=[app])
    ast.soon(go)
    return 200, snapshot


@op("channels", "rtpstatistics")
def rtp_statistics(ast, req):
    chan = ast.get_channel(req.get("channelId"))
    if chan.tech in ("Local", "Snoop"):
        raise Fault(403, "Unsupported channel type")
    if chan.tech == "UnicastRTP":
        raise Fault(404, "RTP info not found")
    return 200, {
        "txcount": 100, "rxcount": 100, "txjitter": 0.0, "rxjitter": 0.0, "remote_maxjitter": 0.0,
        "remote_minjitter": 0.0, "remote_normdevjitter": 0.0, "remote_stdevjitter": 0.0,
        "local_maxjitter": 0.0, "local_minjitter": 0.0, "local_normdevjitter": 0.0, "local_stdevjitter": 0.0,
        "txploss": 0, "rxploss": 0, "remote_maxrxploss": 0.0, "remote_minrxploss": 0.0,
        "remote_normdevrxploss": 0.0, "remote_stdevrxploss": 0.0, "local_maxrxploss": 0.0,
        "local_minrxploss": 0.0, "local_normdevrxploss": 0.0, "local_stdevrxploss": 0.0, "rtt": 0.0,
        "maxrtt": 0.0, "minrtt": 0.0, "normdevrtt": 0.0, "stdevrtt": 0.0, "local_ssrc": 1, "remote_ssrc": 2,
        "txoctetcount": 16000, "rxoctetcount": 16000, "channel_uniqueid": chan.id,
    }


@op("channels", "externalMedia")
def external_media(ast, req):
    app = req.get("app")
    if not app:
        raise Fault(400, "Missing parameter app")
    host = req.get("external_host")
    encapsulation = req.get("encapsulation", "rtp")
    if not host and encapsulation != "none" and req.get("transport") != "websocket":
        raise Fault(400, "external_host is required for all but websocket server connections")
    fmt = req.get("format")
    if not fmt:
        raise Fault(400, "format is required")
    ident = req.get("channelId") or ast.new_channel_id()
    if ident in ast.channels:
        raise Fault(409, "Channel with given unique ID already exists")
    chan = Channel(ident, "UnicastRTP/%s-0x%012x" % (host or "websocket", 0x7efebc000000 + ast._counter),
                   "UnicastRTP", "Down")
    chan.dialplan.update({"app_name": "AppDial2", "app_data": "(Outgoing Line)"})
    ast.add_channel(chan)
    chan.vars["UNICASTRTP_LOCAL_ADDRESS"] = "127.0.0.1"
    chan.vars["UNICASTRTP_LOCAL_PORT"] = str(20000 + (ast._counter * 2) % 10000)
    for k, v in req.variables().items():
        chan.vars[k] = v
    ast.subscribe_channel(app, chan)
    snapshot = chan.model()

    def go():
        ds = "%s/c(%s)" % (host, fmt)
        ast.emit("Dial", {"dialstatus": "", "forward": "", "dialstring": ds, "peer": chan.model()}, channels=(chan.id,))
        ast.set_state(chan, "Up")
        ast.emit("Dial", {"dialstatus": "ANSWER", "forward": "", "dialstring": ds, "peer": chan.model()},
                 channels=(chan.id,))
        ast.enter_stasis(chan, app, [])
    ast.soon(go)
    return 200, snapshot


# ------------------------------------------------------------------ bridges
@op("bridges", "list")
def list_bridges(ast, req):
    return 200, [b.model() for b in ast.bridges.values()]


@op("bridges", "create", "createWithId")
def create_bridge(ast, req):
    types = req.list("type")
    bridge = ast.create_bridge(req.get("bridgeId"), types, req.get("name", ""))
    return 200, bridge.model()


@op("bridges", "get")
def get_bridge(ast, req):
    return 200, ast.get_bridge(req.get("bridgeId")).model()


@op("bridges", "destroy")
def destroy_bridge(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"), reason="Not found")
    ast.soon(ast.destroy_bridge, bridge)
    return 204, None


def _bridge_channels(ast, req, in_stasis=True):
    ids = req.list("channel")
    if not ids:
        raise Fault(400, "Missing parameter channel")
    chans = []
    for cid in ids:
        chan = ast.channels.get(cid)
        if chan is None:
            raise Fault(400, "Channel not found")
        if in_stasis and chan.app is None:
            raise Fault(422, "Channel not in Stasis application")
        chans.append(chan)
    return chans


@op("bridges", "addChannel")
def add_channel(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    chans = _bridge_channels(ast, req)
    if req.get("role") is not None and req.get("role") == "":
        raise Fault(400, "Invalid role")

    def go():
        for chan in chans:
            ast.join_bridge(bridge, chan)
        ast._update_bridgepeers(bridge)
    ast.soon(go)
    return 204, None


@op("bridges", "removeChannel")
def remove_channel(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    chans = _bridge_channels(ast, req, in_stasis=False)
    for chan in chans:
        if chan.id not in bridge.channels:
            raise Fault(422, "Channel not in this bridge")
    for chan in chans:
        ast.leave_bridge(bridge, chan)
    return 204, None


@op("bridges", "setVideoSource")
def set_video_source(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    chan = ast.get_channel(req.get("channelId"))
    if chan.id not in bridge.channels:
        raise Fault(422, "Channel not in bridge")
    old = bridge.video_source_id
    bridge.video_mode = "single"
    bridge.video_source_id = chan.id
    fields = {"bridge": bridge.model()}
    if old:
        fields["old_video_source_id"] = old
    ast.emit("BridgeVideoSourceChanged", fields, bridges=(bridge.id,), channels=tuple(bridge.channels))
    return 204, None


@op("bridges", "clearVideoSource")
def clear_video_source(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    bridge.video_mode = "talker"
    bridge.video_source_id = None
    return 204, None


@op("bridges", "startMoh")
def bridge_start_moh(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    if bridge.moh is None:
        bridge.moh = req.get("mohClass", "default")
        ast.announcer(bridge, "MOH")
    return 204, None


@op("bridges", "stopMoh")
def bridge_stop_moh(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    if bridge.moh is None:
        raise Fault(409, "Bridge isn't playing music")
    bridge.moh = None
    return 204, None


@op("bridges", "play", "playWithId")
def play_bridge(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    media = _media(req)
    pid = req.get("playbackId") or str(uuid.uuid4())
    if pid in ast.playbacks:
        raise Fault(409, "Playback with id '%s' already exists" % pid)
    pb = Playback(pid, media, "bridge:" + bridge.id, req.get("lang") or "en")
    ast.announcer(bridge)
    ast.start_playback(pb)
    return _created("/ari/playbacks/" + pid, pb.model())


@op("bridges", "record")
def record_bridge(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    result = _record(ast, req, "bridge:" + bridge.id, True)
    ast.announcer(bridge, "REC")
    return result


@op("bridges", "getBridgeVar")
def get_bridge_var(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    name = req.get("variable")
    if not name:
        raise Fault(400, "Variable name is required")
    if name not in bridge.vars:
        raise Fault(404, "Provided variable was not found")
    return 200, {"value": bridge.vars[name]}


@op("bridges", "setBridgeVar")
def set_bridge_var(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    name = req.get("variable")
    if not name:
        raise Fault(400, "Variable name is required")
    value = req.params.get("value") or ""
    bridge.vars[name] = value
    if req.bool("report_events"):
        bridge.reported_vars[name] = value
    return 204, None


@op("bridges", "getBridgeVars")
def get_bridge_vars(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    names = req.list("variables")
    if not names:
        raise Fault(400, "Variables are required")
    for n in names:
        if n not in bridge.vars:
            raise Fault(404, "Provided variable was not found")
    return 200, {"variables": {n: bridge.vars[n] for n in names}}


@op("bridges", "setBridgeVars")
def set_bridge_vars(ast, req):
    bridge = ast.get_bridge(req.get("bridgeId"))
    for name, value in req.variables(required=True).items():
        bridge.vars[name] = value
    return 204, None


# ------------------------------------------------------------------ playbacks
def _playback(ast, req):
    pb = ast.playbacks.get(req.get("playbackId"))
    if pb is None:
        raise Fault(404, "Playback not found")
    return pb


@op("playbacks", "get")
def get_playback(ast, req):
    return 200, _playback(ast, req).model()


@op("playbacks", "stop")
def stop_playback(ast, req):
    pb = _playback(ast, req)
    ast.soon(ast.finish_playback, pb, "done")
    return 204, None


@op("playbacks", "control")
def control_playback(ast, req):
    pb = _playback(ast, req)
    operation = req.get("operation")
    if not operation:
        raise Fault(400, "Missing operation")
    if operation not in ("pause", "unpause", "restart", "reverse", "forward"):
        raise Fault(400, "Invalid operation %s" % operation)
    if pb.state not in ("playing", "paused", "continuing"):
        raise Fault(409, "Playback not in a state that allows control")
    ast.control_playback(pb, operation)
    return 204, None


# ------------------------------------------------------------------ recordings
def _live(ast, req):
    rec = ast.live_recordings.get(req.get("recordingName"))
    if rec is None:
        raise Fault(404, "Recording not found")
    return rec


@op("recordings", "getLive")
def get_live(ast, req):
    return 200, _live(ast, req).model()


@op("recordings", "stop")
def stop_live(ast, req):
    rec = _live(ast, req)
    ast.soon(ast.finish_recording, rec, "done")
    return 204, None


@op("recordings", "cancel")
def cancel_live(ast, req):
    rec = _live(ast, req)
    ast.soon(ast.finish_recording, rec, "canceled")
    return 204, None


@op("recordings", "pause")
def pause_live(ast, req):
    rec = _live(ast, req)
    rec.state = "paused"
    return 204, None


@op("recordings", "unpause")
def unpause_live(ast, req):
    rec = _live(ast, req)
    rec.state = "recording"
    return 204, None


@op("recordings", "mute")
def mute_live(ast, req):
    _live(ast, req).muted = True
    return 204, None


@op("recordings", "unmute")
def unmute_live(ast, req):
    _live(ast, req).muted = False
    return 204, None


def _stored(ast, req):
    rec = ast.stored_recordings.get(req.get("recordingName"))
    if rec is None:
        raise Fault(404, "Recording not found")
    return rec


@op("recordings", "listStored")
def list_stored(ast, req):
    return 200, [dict(ast.stored_recordings[n]) for n in sorted(ast.stored_recordings)]


@op("recordings", "getStored")
def get_stored(ast, req):
    return 200, dict(_stored(ast, req))


@op("recordings", "deleteStored")
def delete_stored(ast, req):
    rec = _stored(ast, req)
    del ast.stored_recordings[rec["name"]]
    return 204, None


@op("recordings", "copyStored")
def copy_stored(ast, req):
    rec = _stored(ast, req)
    dest = req.get("destinationRecordingName")
    if not dest:
        raise Fault(400, "destinationRecordingName is required")
    if dest in ast.stored_recordings:
        raise Fault(409, "A recording with the same name already exists on the system")
    ast.stored_recordings[dest] = {"name": dest, "format": rec["format"]}
    return 200, dict(ast.stored_recordings[dest])


def wav_bytes(seconds=0.1, rate=8000):
    """A valid, silent 16-bit mono WAV file."""
    data = b"\x00\x00" * int(seconds * rate)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data)) + data)


@op("recordings", "getStoredFile")
def get_stored_file(ast, req):
    rec = _stored(ast, req)
    ctype = "audio/wav" if rec["format"].lower().startswith("wav") else "application/octet-stream"
    return 200, wav_bytes(), [("Content-Type", ctype)]


# ------------------------------------------------------------------ sounds
def _sound_model(ident):
    formats = SOUND_LANGS.get(ident, DEFAULT_SOUND_FORMATS)
    return {"id": ident, "formats": [{"language": lang, "format": fmt} for lang, fmt in formats]}


@op("sounds", "list")
def list_sounds(ast, req):
    lang = req.get("lang")
    fmt = req.get("format")
    out = []
    for ident in SOUNDS:
        m = _sound_model(ident)
        if lang:
            m["formats"] = [f for f in m["formats"] if f["language"] == lang]
        if fmt:
            m["formats"] = [f for f in m["formats"] if f["format"] == fmt]
        if m["formats"]:
            out.append(m)
    return 200, out


@op("sounds", "get")
def get_sound(ast, req):
    ident = req.get("soundId")
    if ident not in SOUNDS:
        raise Fault(404, "Sound not found")
    return 200, _sound_model(ident)


# ------------------------------------------------------------------ device states
def _device(req):
    return req.get("deviceName")


@op("deviceStates", "list")
def list_devices(ast, req):
    return 200, [{"name": n, "state": s} for n, s in ast.device_states.items()]


@op("deviceStates", "get")
def get_device(ast, req):
    name = _device(req)
    if name.startswith("Stasis:"):
        return 200, {"name": name, "state": ast.device_states.get(name, "UNKNOWN")}
    return 200, {"name": name, "state": "INVALID"}


@op("deviceStates", "update")
def update_device(ast, req):
    name = _device(req)
    if not name.startswith("Stasis:"):
        raise Fault(409, "Uncontrolled device specified")
    state = req.get("deviceState")
    if not state:
        raise Fault(400, "Missing parameter deviceState")
    if state not in DEVICE_STATES:
        raise Fault(500, "Unknown device")
    ast.device_states[name] = state
    ast.emit("DeviceStateChanged", {"device_state": {"name": name, "state": state}}, devices=(name,))
    return 204, None


@op("deviceStates", "delete")
def delete_device(ast, req):
    name = _device(req)
    if not name.startswith("Stasis:"):
        raise Fault(409, "Uncontrolled device specified")
    if ast.device_states.pop(name, None) is not None:
        ast.emit("DeviceStateChanged", {"device_state": {"name": name, "state": "UNKNOWN"}}, devices=(name,))
    return 204, None


# ------------------------------------------------------------------ mailboxes
@op("mailboxes", "list")
def list_mailboxes(ast, req):
    return 200, [dict(m) for m in ast.mailboxes.values()]


@op("mailboxes", "get")
def get_mailbox(ast, req):
    box = ast.mailboxes.get(req.get("mailboxName"))
    if box is None:
        raise Fault(404, "Mailbox is does not exist")
    return 200, dict(box)


def _mwi(ast, name, new_messages):
    device = "MWI:" + name
    ast.emit("DeviceStateChanged", {"device_state": {"name": device, "state": "INUSE" if new_messages else "NOT_INUSE"}},
             devices=(device,))


@op("mailboxes", "update")
def update_mailbox(ast, req):
    name = req.get("mailboxName")
    ast.mailboxes[name] = {"name": name, "old_messages": req.int("oldMessages", 0),
                           "new_messages": req.int("newMessages", 0)}
    _mwi(ast, name, ast.mailboxes[name]["new_messages"])
    return 204, None


@op("mailboxes", "delete")
def delete_mailbox(ast, req):
    name = req.get("mailboxName")
    if ast.mailboxes.pop(name, None) is None:
        raise Fault(404, "Mailbox is does not exist")
    _mwi(ast, name, 0)
    return 204, None


# ------------------------------------------------------------------ endpoints
def _endpoint(ast, tech, resource):
    if not any(t == tech for t, _ in ast.endpoints):
        raise Fault(404, "No Endpoints found - invalid tech %s" % tech)
    ep = ast.endpoints.get((tech, resource))
    if ep is None:
        raise Fault(404, "Endpoint not found")
    return ep


def _ep_model(ep):
    return {"technology": ep["technology"], "resource": ep["resource"], "state": ep["state"],
            "channel_ids": list(ep["channel_ids"])}


@op("endpoints", "list")
def list_endpoints(ast, req):
    return 200, [_ep_model(e) for e in ast.endpoints.values()]


@op("endpoints", "listByTech")
def list_by_tech(ast, req):
    tech = req.get("tech")
    eps = [_ep_model(e) for (t, _), e in ast.endpoints.items() if t == tech]
    if not eps:
        raise Fault(404, "No Endpoints found - invalid tech %s" % tech)
    return 200, eps


@op("endpoints", "get")
def get_endpoint(ast, req):
    tech = req.get("tech")
    if not any(t == tech for t, _ in ast.endpoints):
        raise Fault(404, "Endpoint not found")
    return 200, _ep_model(_endpoint(ast, tech, req.get("resource")))


def _message_target(ast, to):
    scheme, _, rest = (to or "").partition(":")
    tech = {"pjsip": "PJSIP", "sip": "SIP", "iax2": "IAX2"}.get(scheme.lower())
    if tech is None:
        raise Fault(400, "Invalid 'to' or 'from' address")
    resource = rest.split("@", 1)[0]
    if (tech, resource) not in ast.endpoints:
        raise Fault(404, "Endpoint not found")


@op("endpoints", "sendMessage")
def send_message(ast, req):
    if not req.get("to") or not req.get("from"):
        raise Fault(400, "To and from are required")
    _message_target(ast, req.get("to"))
    return 202, None


@op("endpoints", "refer")
def refer(ast, req):
    if not req.get("to") or not req.get("from") or not req.get("refer_to"):
        raise Fault(400, "To, from and refer_to are required")
    _message_target(ast, req.get("to"))
    return 202, None


@op("endpoints", "sendMessageToEndpoint")
def send_message_to_endpoint(ast, req):
    if not req.get("from"):
        raise Fault(400, "From is required")
    _endpoint(ast, req.get("tech"), req.get("resource"))
    return 202, None


@op("endpoints", "referToEndpoint")
def refer_to_endpoint(ast, req):
    if not req.get("from") or not req.get("refer_to"):
        raise Fault(400, "From and refer_to are required")
    _endpoint(ast, req.get("tech"), req.get("resource"))
    return 202, None


# ------------------------------------------------------------------ events
@op("events", "userEvent")
def user_event(ast, req):
    app = req.get("application")
    if not app:
        raise Fault(400, "Missing parameter application")
    if app not in ast.apps:
        raise Fault(404, "Application not found")
    fields = {"eventname": req.get("eventName")}
    userevent = req.variables()
    userevent["eventname"] = req.get("eventName")
    fields["userevent"] = userevent
    for src in req.list("source"):
        scheme, _, ident = src.partition(":")
        if scheme == "channel" and ident in ast.channels:
            fields["channel"] = ast.channels[ident].model()
        elif scheme == "bridge" and ident in ast.bridges:
            fields["bridge"] = ast.bridges[ident].model()
        elif scheme == "endpoint" and tuple(ident.partition("/")[::2]) in ast.endpoints:
            fields["endpoint"] = _ep_model(ast.endpoints[tuple(ident.partition("/")[::2])])
        elif scheme in ("channel", "bridge", "endpoint", "deviceState"):
            raise Fault(422, "Event source was not found")
        else:
            raise Fault(400, "Invalid event source URI scheme")
    ast.soon(ast.emit, "ChannelUserevent", fields, (), (), (), (), [app])
    return 204, None


@op("events", "claimChannel")
def claim_channel(ast, req):
    app = req.get("application")
    if not app:
        raise Fault(400, "application parameter is required")
    chan = ast.channels.get(req.get("channelId") or "")
    if chan is None or not chan.broadcast:
        raise Fault(404, "Channel not found or not in broadcast state")
    ast.emit_channel("CallClaimed", chan, {"winner_app": chan.claimed_by or app}, apps=[app])
    if chan.claimed_by is not None and chan.claimed_by != app:
        raise Fault(409, "Channel has already been claimed by another application")
    chan.claimed_by = app
    chan.broadcast = False
    chan.app = app
    chan.dialplan.update({"app_name": "Stasis", "app_data": app})
    ast.subscribe_channel(app, chan)
    ast.emit_channel("StasisStart", chan, {"args": []}, apps=[app])
    chan.broadcast = True  # a later claim still finds it, and loses
    return 204, None


@op("events", "eventWebsocket")
def event_websocket(ast, req):
    raise Fault(426, "Upgrade Required")
