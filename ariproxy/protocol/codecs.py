"""Payload codecs: Go-shaped request payloads <-> ARI operation parameters.

Each payload field of PROTOCOL.md section 3 has two functions here:

- a *reader* ``read_<field>(payload) -> dict`` turning the wire payload (as a
  Go client sends it) into ARI parameters named as in the Asterisk spec
  (``channel_dial.timeout`` integer nanoseconds -> ``timeout`` seconds,
  recording options ``Format``/``MaxDuration`` -> ``format``/
  ``maxDurationSeconds``, ...).  Empty/zero optional values are left out.
  Malformed input raises ProtocolError naming the field (``channel_dial.timeout``).
- a *builder* ``build_<field>(**kwargs) -> dict`` producing the payload exactly
  as the Go client writes it (same field names, nanosecond durations, the
  fields Go always writes present even when empty), from Pythonic keyword
  arguments (durations in seconds, ``int``/``float`` or ``timedelta``).

No I/O.
"""
import datetime
import math

from ariproxy.errors import ProtocolError

from .wire import json_type

__all__ = ["READERS", "BUILDERS", "seconds_to_ns", "ns_to_seconds", "ns_to_ms"]

NS_PER_SECOND = 1000000000
NS_PER_MS = 1000000


# ---------------------------------------------------------------- field access

def _fail(field, name, expected, value):
    raise ProtocolError("%s.%s: expected %s, got %s" % (field, name, expected, json_type(value)))


def get_str(p, field, name, required=False):
    v = p.get(name)
    if v is None or v == "":
        if required:
            raise ProtocolError("%s.%s is required" % (field, name))
        return ""
    if not isinstance(v, str):
        _fail(field, name, "a string", v)
    return v


def get_int(p, field, name, required=False):
    v = p.get(name)
    if v is None:
        if required:
            raise ProtocolError("%s.%s is required" % (field, name))
        return 0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(field, name, "an integer", v)
    if isinstance(v, float):
        if not math.isfinite(v) or v != int(v):
            _fail(field, name, "an integer", v)
        v = int(v)
    return v


def get_bool(p, field, name):
    v = p.get(name)
    if v is None:
        return False
    if not isinstance(v, bool):
        _fail(field, name, "a boolean", v)
    return v


def get_obj(p, field, name, required=False):
    v = p.get(name)
    if v is None:
        if required:
            raise ProtocolError("%s.%s is required" % (field, name))
        return None
    if not isinstance(v, dict):
        _fail(field, name, "an object", v)
    return v


def get_str_map(p, field, name):
    """A JSON object of string values (channel variables), or None."""
    v = get_obj(p, field, name)
    if v is None:
        return None
    for k, val in v.items():
        if not isinstance(val, str):
            raise ProtocolError("%s.%s.%s: expected a string, got %s" % (field, name, k, json_type(val)))
    return v


# ---------------------------------------------------------------- durations

def seconds_to_ns(value, name="duration"):
    """Seconds (int, float or timedelta; None -> 0) as Go's integer nanoseconds."""
    if value is None:
        return 0
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ProtocolError("%s: expected a non-negative number of seconds, got %r" % (name, value))
    return int(round(value * NS_PER_SECOND))


def ns_to_seconds(ns):
    """Go nanoseconds -> whole seconds for ARI, rounded up (0.5 s must not become 0 = no limit)."""
    if ns <= 0:
        return 0
    return -(-ns // NS_PER_SECOND)


def ns_to_ms(ns):
    """Go nanoseconds -> whole milliseconds for ARI, rounded up."""
    if ns <= 0:
        return 0
    return -(-ns // NS_PER_MS)


def _put(out, name, value):
    """Set only non-empty values (ARI defaults apply to the rest)."""
    if value not in ("", None, 0, False):
        out[name] = value


def _media(value):
    if isinstance(value, (list, tuple)):
        return ",".join(value)
    return value or ""


# ---------------------------------------------------------------- readers

def read_application_subscribe(p):
    f = "application_subscribe"
    return {"eventSource": get_str(p, f, "event_source", required=True)}


def read_asterisk_config(p):
    f = "asterisk_config"
    tuples = p.get("tuples")
    if tuples is None:
        tuples = []
    if not isinstance(tuples, list):
        _fail(f, "tuples", "an array", tuples)
    fields = []
    for i, t in enumerate(tuples):
        if not isinstance(t, dict):
            _fail(f, "tuples[%d]" % i, "an object", t)
        where = "%s.tuples[%d]" % (f, i)
        fields.append({"attribute": get_str(t, where, "attribute", required=True),
                       "value": get_str(t, where, "value")})
    return {"fields": fields}


def read_asterisk_logging_channel(p):
    return {"configuration": get_str(p, "asterisk_logging_channel", "config", required=True)}


def read_asterisk_variable_set(p):
    out = {}
    _put(out, "value", get_str(p, "asterisk_variable_set", "value"))
    return out


def read_bridge_add_channel(p):
    f = "bridge_add_channel"
    out = {"channel": get_str(p, f, "channel", required=True)}
    _put(out, "role", get_str(p, f, "role"))
    _put(out, "absorbDTMF", get_bool(p, f, "absorbDTMF"))
    _put(out, "mute", get_bool(p, f, "mute"))
    _put(out, "inhibitConnectedLineUpdates", get_bool(p, f, "inhibitConnectedLineUpdates"))
    return out


def read_bridge_create(p):
    f = "bridge_create"
    out = {}
    _put(out, "type", get_str(p, f, "type"))
    _put(out, "name", get_str(p, f, "name"))
    return out


def read_bridge_moh(p):
    out = {}
    _put(out, "mohClass", get_str(p, "bridge_moh", "class"))
    return out


def read_play(field):
    def read(p):
        return {"playbackId": get_str(p, field, "playback_id"),
                "media": get_str(p, field, "media_uri", required=True)}
    return read


def read_record(field):
    def read(p):
        out = {"name": get_str(p, field, "name", required=True)}
        opts = get_obj(p, field, "options") or {}
        f = field + ".options"
        # Go's client defaults the format to wav; ARI requires one.
        out["format"] = get_str(opts, f, "Format") or "wav"
        out["maxDurationSeconds"] = ns_to_seconds(get_int(opts, f, "MaxDuration"))
        out["maxSilenceSeconds"] = ns_to_seconds(get_int(opts, f, "MaxSilence"))
        _put(out, "ifExists", get_str(opts, f, "Exists"))
        out["beep"] = get_bool(opts, f, "Beep")
        _put(out, "terminateOn", get_str(opts, f, "Terminate"))
        return out
    return read


def read_bridge_remove_channel(p):
    return {"channel": get_str(p, "bridge_remove_channel", "channel", required=True)}


def read_bridge_video_source(p):
    return {"channelId": get_str(p, "bridge_video_source", "channel", required=True)}


_CREATE_FIELDS = ("endpoint", "app", "appArgs", "channelId", "otherChannelId", "originator", "formats")


def read_channel_create(p):
    f = "channel_create"
    req = get_obj(p, f, "channel_create_request", required=True)
    f += ".channel_create_request"
    out = {}
    for name in _CREATE_FIELDS:
        _put(out, name, get_str(req, f, name))
    if not out.get("endpoint"):
        raise ProtocolError("%s.endpoint is required" % f)
    _put(out, "variables", get_str_map(req, f, "variables"))
    return out


def read_channel_continue(p):
    f = "channel_continue"
    out = {}
    _put(out, "context", get_str(p, f, "context"))
    _put(out, "extension", get_str(p, f, "extension"))
    _put(out, "priority", get_int(p, f, "priority"))
    _put(out, "label", get_str(p, f, "label"))
    return out


def read_channel_dial(p):
    f = "channel_dial"
    out = {}
    _put(out, "caller", get_str(p, f, "caller"))
    _put(out, "timeout", ns_to_seconds(get_int(p, f, "timeout")))
    return out


def read_channel_hangup(p):
    out = {}
    _put(out, "reason", get_str(p, "channel_hangup", "reason"))
    _put(out, "reason_code", get_str(p, "channel_hangup", "reason_code"))
    return out


def read_channel_moh(p):
    out = {}
    _put(out, "mohClass", get_str(p, "channel_moh", "music"))
    return out


def read_channel_mute(p):
    out = {}
    _put(out, "direction", get_str(p, "channel_mute", "direction"))
    return out


_ORIGINATE_STR = ("endpoint", "callerId", "context", "extension", "label", "app", "appArgs", "formats",
                  "channelId", "otherChannelId", "originator")


def read_channel_originate(p):
    f = "channel_originate"
    req = get_obj(p, f, "originate_request")
    if req is None:
        raise ProtocolError("channel_originate.originate_request is required")
    f += ".originate_request"
    out = {}
    for name in _ORIGINATE_STR:
        _put(out, name, get_str(req, f, name))
    if not out.get("endpoint"):
        raise ProtocolError("%s.endpoint is required" % f)
    _put(out, "timeout", get_int(req, f, "timeout"))        # Go: whole seconds here, not a Duration
    _put(out, "priority", get_int(req, f, "priority"))
    _put(out, "variables", get_str_map(req, f, "variables"))
    return out


def read_channel_send_dtmf(p):
    f = "channel_send_dtmf"
    out = {"dtmf": get_str(p, f, "dtmf", required=True)}
    opts = get_obj(p, f, "options") or {}
    f += ".options"
    for go_name, ari_name in (("Before", "before"), ("Between", "between"), ("Duration", "duration"),
                              ("After", "after")):
        _put(out, ari_name, ns_to_ms(get_int(opts, f, go_name)))
    return out


def read_channel_snoop(p):
    f = "channel_snoop"
    out = {"snoopId": get_str(p, f, "snoop_id")}
    opts = get_obj(p, f, "options") or {}
    f += ".options"
    for name in ("app", "appArgs", "spy", "whisper"):
        _put(out, name, get_str(opts, f, name))
    return out


_EXTERNAL_MEDIA_DEFAULTS = (("encapsulation", "rtp"), ("transport", "udp"), ("connection_type", "client"),
                            ("direction", "both"))


def read_channel_external_media(p):
    f = "channel_external_media"
    opts = get_obj(p, f, "options")
    if opts is None:
        raise ProtocolError("channel_external_media.options is required")
    f += ".options"
    out = {}
    _put(out, "channelId", get_str(opts, f, "channelId"))
    _put(out, "app", get_str(opts, f, "app"))
    _put(out, "external_host", get_str(opts, f, "external_host"))
    # the Go server fills ARI's documented defaults explicitly; so do we
    for name, default in _EXTERNAL_MEDIA_DEFAULTS:
        out[name] = get_str(opts, f, name) or default
    out["format"] = get_str(opts, f, "format", required=True)
    _put(out, "data", get_str(opts, f, "data"))
    _put(out, "transport_data", get_str(opts, f, "transport_data"))
    _put(out, "variables", get_str_map(opts, f, "variables"))
    return out


def read_channel_variable_get(p):
    return {"variable": get_str(p, "channel_variable", "name", required=True)}


def read_channel_variable_set(p):
    out = {"variable": get_str(p, "channel_variable", "name", required=True)}
    _put(out, "value", get_str(p, "channel_variable", "value"))
    return out


def read_channel_user_event(p):
    f = "channel_user_event"
    ue = get_obj(p, f, "UserEvent", required=True)
    f += ".UserEvent"
    out = {"eventName": get_str(ue, f, "eventname", required=True)}
    variables = get_obj(ue, f, "userevent")
    if variables:
        out["variables"] = variables
    return out


def read_device_state_update(p):
    return {"deviceState": get_str(p, "device_state_update", "state", required=True)}


def read_endpoint_list_by_tech(p):
    return {"tech": get_str(p, "endpoint_list_by_tech", "tech", required=True)}


def read_mailbox_update(p):
    f = "mailbox_update"
    return {"newMessages": get_int(p, f, "new"), "oldMessages": get_int(p, f, "old")}


def read_playback_control(p):
    return {"operation": get_str(p, "playback_control", "command", required=True)}


def read_recording_stored_copy(p):
    return {"destinationRecordingName": get_str(p, "recording_stored_copy", "destination", required=True)}


def read_sound_list(p):
    f = "sound_list"
    filters = get_obj(p, f, "filters") or {}
    out = {}
    _put(out, "lang", get_str(filters, f + ".filters", "lang"))
    _put(out, "format", get_str(filters, f + ".filters", "format"))
    return out


# ---------------------------------------------------------------- builders (Go client shapes)

def _unknown(field, kwargs, allowed):
    extra = sorted(set(kwargs) - set(allowed))
    if extra:
        raise TypeError("%s: unexpected argument(s) %s" % (field, ", ".join(extra)))


def _omit_empty(d):
    return {k: v for k, v in d.items() if v not in ("", None, 0, False, {})}


def build_application_subscribe(event_source):
    return {"event_source": event_source}


def build_asterisk_config(tuples=()):
    out = []
    for t in tuples or ():
        if isinstance(t, dict):
            out.append({"attribute": t["attribute"], "value": t.get("value", "")})
        else:
            attribute, value = t
            out.append({"attribute": attribute, "value": value})
    return {"tuples": out}


def build_asterisk_logging_channel(config):
    if isinstance(config, (list, tuple)):
        config = ",".join(config)
    return {"config": config}


def build_asterisk_variable_set(value=""):
    return {"value": value}


def build_bridge_add_channel(channel, absorb_dtmf=False, mute=False, role="",
                             inhibit_connected_line_updates=False):
    out = {"channel": channel}
    if absorb_dtmf:
        out["absorbDTMF"] = True
    if mute:
        out["mute"] = True
    if role:
        out["role"] = role
    if inhibit_connected_line_updates:
        out["inhibitConnectedLineUpdates"] = True  # extension: Go ignores it
    return out


def build_bridge_create(type="mixing", name=""):
    if isinstance(type, (list, tuple)):
        type = ",".join(type)
    out = {"type": type}
    if name:
        out["name"] = name
    return out


def build_bridge_moh(moh_class=""):
    return {"class": moh_class}


def build_play(playback_id, media):
    return {"playback_id": playback_id, "media_uri": _media(media)}


def build_record(name, format="wav", max_duration=0, max_silence=0, if_exists="", beep=False,
                 terminate_on=""):
    return {"name": name, "options": {
        "Format": format or "",
        "MaxDuration": seconds_to_ns(max_duration, "max_duration"),
        "MaxSilence": seconds_to_ns(max_silence, "max_silence"),
        "Exists": if_exists or "",
        "Beep": bool(beep),
        "Terminate": terminate_on or "",
    }}


def build_bridge_remove_channel(channel):
    return {"channel": channel}


def build_bridge_video_source(channel):
    return {"channel": channel}


def build_channel_create(endpoint, app="", app_args="", channel_id="", other_channel_id="", originator="",
                         formats="", variables=None):
    if isinstance(formats, (list, tuple)):
        formats = ",".join(formats)
    req = _omit_empty({"endpoint": endpoint, "app": app, "appArgs": app_args, "channelId": channel_id,
                       "otherChannelId": other_channel_id, "originator": originator, "formats": formats})
    if variables:
        req["variables"] = dict(variables)  # extension: Go's ChannelCreateRequest has no variables
    return {"channel_create_request": req}


def build_channel_continue(context="", extension="", priority=0, label=""):
    out = {"context": context, "extension": extension, "priority": int(priority)}
    if label:
        out["label"] = label  # extension: Go has no label here
    return out


def build_channel_dial(caller="", timeout=0):
    return {"caller": caller, "timeout": seconds_to_ns(timeout, "timeout")}


def build_channel_hangup(reason=""):
    return {"reason": reason}


def build_channel_moh(moh_class=""):
    return {"music": moh_class}


def build_channel_mute(direction="both"):
    return _omit_empty({"direction": direction})


def build_channel_originate(endpoint, timeout=0, caller_id="", context="", extension="", priority=0, label="",
                            app="", app_args="", formats="", channel_id="", other_channel_id="",
                            originator="", variables=None):
    if isinstance(formats, (list, tuple)):
        formats = ",".join(formats)
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    req = _omit_empty({
        "endpoint": endpoint, "timeout": int(math.ceil(timeout or 0)), "callerId": caller_id,
        "context": context, "extension": extension, "priority": int(priority or 0), "label": label,
        "app": app, "appArgs": app_args, "formats": formats, "channelId": channel_id,
        "otherChannelId": other_channel_id, "originator": originator,
    })
    if variables:
        req["variables"] = dict(variables)
    return {"originate_request": req}


def build_channel_send_dtmf(dtmf, before=0, between=0, duration=0, after=0):
    return {"dtmf": dtmf, "options": {
        "Before": seconds_to_ns(before, "before"), "Between": seconds_to_ns(between, "between"),
        "Duration": seconds_to_ns(duration, "duration"), "After": seconds_to_ns(after, "after"),
    }}


def build_channel_snoop(snoop_id, app="", app_args="", spy="", whisper=""):
    return {"snoop_id": snoop_id,
            "options": _omit_empty({"app": app, "appArgs": app_args, "spy": spy, "whisper": whisper})}


def build_channel_external_media(format, external_host="", app="", channel_id="", encapsulation="",
                                 transport="", connection_type="", direction="", variables=None, data="",
                                 transport_data=""):
    opts = {"channelId": channel_id, "app": app, "external_host": external_host,
            "encapsulation": encapsulation, "transport": transport, "connection_type": connection_type,
            "format": format, "direction": direction, "variables": dict(variables) if variables else None}
    if data:
        opts["data"] = data  # extensions: newer ARI parameters Go v5 does not send
    if transport_data:
        opts["transport_data"] = transport_data
    return {"options": opts}


def build_channel_variable_get(name):
    return {"name": name}


def build_channel_variable_set(name, value=""):
    out = {"name": name}
    if value:
        out["value"] = value
    return out


# The Go client sends the whole (zero-valued) ari.ChannelUserevent struct.
_GO_ZERO_TIME = "0001-01-01T00:00:00.000+0000"
_GO_ZERO_EPOCH = "1970-01-01T00:00:00.000+0000"


def build_channel_user_event(event_name, variables=None):
    return {"UserEvent": {
        "application": "", "timestamp": _GO_ZERO_TIME, "type": "",
        "bridge": {"key": None, "id": "", "bridge_class": "", "bridge_type": "", "channels": None,
                   "creator": "", "name": "", "technology": ""},
        "channel": {"id": "", "name": "", "state": "", "accountcode": "", "caller": None, "connected": None,
                    "creationtime": _GO_ZERO_EPOCH, "dialplan": None, "channelvars": None},
        "endpoint": {"key": None, "channel_ids": None, "resource": "", "technology": ""},
        "eventname": event_name,
        "userevent": dict(variables) if variables else None,
    }}


def build_device_state_update(state):
    return {"state": state}


def build_endpoint_list_by_tech(tech):
    return {"tech": tech}


def build_mailbox_update(new_messages=0, old_messages=0):
    return {"new": int(new_messages), "old": int(old_messages)}


def build_playback_control(operation):
    return {"command": operation}


def build_recording_stored_copy(destination):
    return {"destination": destination}


def build_sound_list(lang="", format=""):
    filters = _omit_empty({"lang": lang, "format": format})
    return {"filters": filters or None}


READERS = {
    "application_subscribe": read_application_subscribe,
    "asterisk_config": read_asterisk_config,
    "asterisk_logging_channel": read_asterisk_logging_channel,
    "asterisk_variable_set": read_asterisk_variable_set,
    "bridge_add_channel": read_bridge_add_channel,
    "bridge_create": read_bridge_create,
    "bridge_moh": read_bridge_moh,
    "bridge_play": read_play("bridge_play"),
    "channel_play": read_play("channel_play"),
    "bridge_record": read_record("bridge_record"),
    "channel_record": read_record("channel_record"),
    "bridge_remove_channel": read_bridge_remove_channel,
    "bridge_video_source": read_bridge_video_source,
    "channel_create": read_channel_create,
    "channel_continue": read_channel_continue,
    "channel_dial": read_channel_dial,
    "channel_hangup": read_channel_hangup,
    "channel_moh": read_channel_moh,
    "channel_mute": read_channel_mute,
    "channel_originate": read_channel_originate,
    "channel_send_dtmf": read_channel_send_dtmf,
    "channel_snoop": read_channel_snoop,
    "channel_external_media": read_channel_external_media,
    "channel_user_event": read_channel_user_event,
    "device_state_update": read_device_state_update,
    "endpoint_list_by_tech": read_endpoint_list_by_tech,
    "mailbox_update": read_mailbox_update,
    "playback_control": read_playback_control,
    "recording_stored_copy": read_recording_stored_copy,
    "sound_list": read_sound_list,
}

BUILDERS = {
    "application_subscribe": build_application_subscribe,
    "asterisk_config": build_asterisk_config,
    "asterisk_logging_channel": build_asterisk_logging_channel,
    "asterisk_variable_set": build_asterisk_variable_set,
    "bridge_add_channel": build_bridge_add_channel,
    "bridge_create": build_bridge_create,
    "bridge_moh": build_bridge_moh,
    "bridge_play": build_play,
    "channel_play": build_play,
    "bridge_record": build_record,
    "channel_record": build_record,
    "bridge_remove_channel": build_bridge_remove_channel,
    "bridge_video_source": build_bridge_video_source,
    "channel_create": build_channel_create,
    "channel_continue": build_channel_continue,
    "channel_dial": build_channel_dial,
    "channel_hangup": build_channel_hangup,
    "channel_moh": build_channel_moh,
    "channel_mute": build_channel_mute,
    "channel_originate": build_channel_originate,
    "channel_send_dtmf": build_channel_send_dtmf,
    "channel_snoop": build_channel_snoop,
    "channel_external_media": build_channel_external_media,
    "channel_user_event": build_channel_user_event,
    "device_state_update": build_device_state_update,
    "endpoint_list_by_tech": build_endpoint_list_by_tech,
    "mailbox_update": build_mailbox_update,
    "playback_control": build_playback_control,
    "recording_stored_copy": build_recording_stored_copy,
    "sound_list": build_sound_list,
}
