"""State of the simulated Asterisk and the events it emits.

Everything here runs in gevent greenlets of one process and never blocks:
state changes are plain Python between yields, so no locks are needed.  Timed
behaviour (playback and recording durations, DTMF spacing, ring timeouts) is
scheduled with ``gevent.spawn_later``.

Ordering follows a real Asterisk 22 (see the recordings): e.g. a channel hung
up over ARI gives ChannelHangupRequest -> StasisEnd -> ChannelVarset
STASISSTATUS -> ChannelDestroyed.
"""
import logging
import time
import uuid

import gevent

from ariproxy import jsonutil

log = logging.getLogger(__name__)

HANGUP_REASONS = {
    "normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18,
    "rejected": 21, "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28,
    "codec_mismatch": 58, "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}
CAUSE_TEXT = {
    0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
    18: "No user responding", 19: "User alerting, no answer", 21: "Call Rejected",
    26: "Answered elsewhere", 28: "Invalid number format (addr incomplete)",
    31: "Normal, unspecified", 34: "Circuit/channel congestion", 38: "Network out of order",
    58: "Bearer capability not available", 127: "Interworking, unspecified",
}
DEVICE_STATES = ("UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE",
                 "RINGING", "RINGINUSE", "ONHOLD")
RECORDING_FORMATS = ("wav", "WAV", "wav49", "gsm", "ulaw", "alaw", "sln", "slin", "g722",
                     "g729", "ilbc", "siren7", "siren14", "h263", "h264", "vp8", "opus")

# Lengths (seconds) of the core sounds a stock Asterisk ships, as measured in the
# recordings; other sounds in the catalogue use ``default_sound_seconds``.
SOUND_SECONDS = {
    "hello-world": 1.40, "beep": 0.42, "tt-monkeys": 11.0, "tt-weasels": 5.5,
    "demo-congrats": 17.0, "vm-goodbye": 0.7, "conf-onlyperson": 1.9, "pbx-invalid": 2.0,
}
for _d in range(10):
    SOUND_SECONDS["digits/%d" % _d] = 0.91 if _d == 1 else 0.75
for _s in range(1, 11):
    SOUND_SECONDS["silence/%d" % _s] = float(_s)
# The rest of the vocabulary ``ariproxy.ext.audiouri`` speaks with (Asterisk's standard English prompt
# names) and a few IVR prompts, at plausible lengths (scaled by media_scale like the others).
for _n in list(range(10, 21)) + list(range(30, 100, 10)):
    SOUND_SECONDS["digits/%d" % _n] = 0.8
for _n in list(range(1, 21)) + list(range(30, 100, 10)):
    SOUND_SECONDS["digits/h-%d" % _n] = 0.85
for _w in ("hundred", "thousand", "million", "billion", "h-hundred", "h-thousand", "h-million", "minus", "oh",
           "oclock", "a-m", "p-m", "star", "pound", "dollars", "cents"):
    SOUND_SECONDS["digits/" + _w] = 0.7
for _d in range(7):
    SOUND_SECONDS["digits/day-%d" % _d] = 0.7
for _m in range(12):
    SOUND_SECONDS["digits/mon-%d" % _m] = 0.7
for _c in "abcdefghijklmnopqrstuvwxyz":
    SOUND_SECONDS["letters/" + _c] = 0.5
SOUND_SECONDS.update({
    "letters/dollar": 0.6, "dollars": 0.6, "cents": 0.6, "cent": 0.5, "and": 0.4,
    "vm-intro": 4.6, "conf-getpin": 2.3, "auth-thankyou": 1.0, "you-entered": 1.0, "pls-try-again": 1.2,
    "vm-enter-num-to-call": 2.6, "vm-msgsaved": 1.3, "pls-hold-while-try": 2.0,
})

SOUNDS = sorted(set(SOUND_SECONDS) | {"vm-intro", "vm-login", "agent-pass", "queue-thankyou",
                                      "conf-getpin", "auth-thankyou", "custom/welcome"})
SOUND_LANGS = {"custom/welcome": (("en", "wav"),)}
DEFAULT_SOUND_FORMATS = (("en", "gsm"), ("en", "slin"))

MODULES = {
    "res_ari.so": ("Asterisk RESTful Interface", "core", False),
    "res_stasis.so": ("Stasis application support", "core", False),
    "res_ari_channels.so": ("RESTful API module - Channel resources", "core", False),
    "res_ari_bridges.so": ("RESTful API module - Bridge resources", "core", False),
    "res_ari_events.so": ("RESTful API module - WebSocket resource", "core", False),
    "res_musiconhold.so": ("Music On Hold Resource", "core", True),
    "app_echo.so": ("Simple Echo Application", "core", False),
    "app_playback.so": ("Sound File Playback Application", "core", False),
    "chan_pjsip.so": ("PJSIP Channel Driver", "core", True),
    "res_pjsip.so": ("Basic SIP resource", "core", True),
    "pbx_config.so": ("Text Extension Configuration", "core", True),
}
CONFIG_CLASSES = {"res_pjsip": ("endpoint", "aor", "auth", "contact", "identify", "transport")}
CHANNEL_TECHS = ("Local", "PJSIP", "SIP", "IAX2", "DAHDI", "Snoop", "UnicastRTP", "WebSocket")

_ALL = {"channel": "__AST_CHANNEL_ALL_TOPIC", "bridge": "__AST_BRIDGE_ALL_TOPIC",
        "endpoint": "__AST_ENDPOINT_ALL_TOPIC", "device": "__AST_DEVICE_STATE_ALL_TOPIC"}


def now_stamp(t=None):
    """ARI timestamp: ``2026-11-29T04:20:04.313+0000``."""
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03d+0000" % (int(t * 1000) % 1000)


class Fault(Exception):
    """An ARI error answer: status, ``{"message": ...}`` (or another key), reason phrase."""

    def __init__(self, status, message, reason=None, key="message"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.key = key


class App:
    """A Stasis application, registered while a websocket has it."""

    def __init__(self, name, socket, subscribe_all=False):
        self.name = name
        self.socket = socket
        self.subscribe_all = subscribe_all
        self.channel_ids = []
        self.bridge_ids = []
        self.endpoint_ids = []
        self.device_names = []
        self.allowed = []
        self.disallowed = []
        self.name_json = jsonutil.dumps(name)

    def model(self):
        if self.subscribe_all:
            return {"name": self.name, "channel_ids": [_ALL["channel"]], "bridge_ids": [_ALL["bridge"]],
                    "endpoint_ids": [_ALL["endpoint"]], "device_names": [_ALL["device"]],
                    "events_allowed": list(self.allowed), "events_disallowed": list(self.disallowed)}
        return {"name": self.name, "channel_ids": list(self.channel_ids), "bridge_ids": list(self.bridge_ids),
                "endpoint_ids": list(self.endpoint_ids), "device_names": list(self.device_names),
                "events_allowed": list(self.allowed), "events_disallowed": list(self.disallowed)}

    def wants(self, event_type):
        if self.allowed and not any(f.get("type") == event_type for f in self.allowed):
            return False
        if self.disallowed and any(f.get("type") == event_type for f in self.disallowed):
            return False
        return True

    def subscribed(self, kind, ident):
        return ident in getattr(self, kind)

    def add(self, kind, ident):
        lst = getattr(self, kind)
        if ident not in lst:
            lst.append(ident)

    def remove(self, kind, ident):
        lst = getattr(self, kind)
        if ident in lst:
            lst.remove(ident)

    def has_subscriptions(self):
        """True while it is subscribed to some channel, bridge, endpoint or device (Asterisk's forwards)."""
        return bool(self.channel_ids or self.bridge_ids or self.endpoint_ids or self.device_names)


class Channel:
    """A channel; ``model()`` is its ARI Channel snapshot."""

    def __init__(self, ident, name, tech, state="Down", context="default", exten="s", priority=1,
                 caller=None, connected=None):
        self.id = ident
        self.name = name
        self.tech = tech
        self.state = state
        self.caller = dict(caller or {"name": "", "number": ""})
        self.connected = dict(connected or {"name": "", "number": ""})
        self.accountcode = ""
        self.dialplan = {"context": context, "exten": exten, "priority": priority, "app_name": "", "app_data": ""}
        self.creationtime = now_stamp()
        self.language = "en"
        self.vars = {}
        self.app = None          # Stasis application name while in Stasis
        self.peer = None         # the other half of a Local pair
        self.bridge = None       # bridge id
        self.muted = set()
        self.held = False
        self.ringing = False
        self.moh = None
        self.silence = False
        self.broadcast = False
        self.talk_detect = False
        self.caller_from_originate = False
        self.claimed_by = None
        self.destroyed = False
        self.timers = []
        self.speaking_since = None   # monotonic time the (simulated) caller started talking, None: silent

    def model(self):
        return {"id": self.id, "name": self.name, "state": self.state, "protocol_id": "",
                "caller": dict(self.caller), "connected": dict(self.connected),
                "accountcode": self.accountcode, "dialplan": dict(self.dialplan),
                "creationtime": self.creationtime, "language": self.language}


class Bridge:
    def __init__(self, ident, types, name):
        self.id = ident
        self.types = types
        holding = "holding" in types
        self.technology = "holding_bridge" if holding else "simple_bridge"
        self.bridge_type = "holding" if holding else "mixing"
        self.name = name
        self.channels = []
        self.creationtime = now_stamp()
        self.video_mode = "talker"
        self.video_source_id = None
        self.vars = {}
        self.reported_vars = {}
        self.moh = None

    def model(self):
        m = {"id": self.id, "technology": self.technology, "bridge_type": self.bridge_type,
             "bridge_class": "stasis", "creator": "Stasis", "name": self.name,
             "channels": list(self.channels), "creationtime": self.creationtime,
             "video_mode": self.video_mode}
        if self.video_source_id:
            m["video_source_id"] = self.video_source_id
        if self.reported_vars:
            m["bridgevars"] = dict(self.reported_vars)
        return m


class Playback:
    def __init__(self, ident, media, target_uri, language):
        self.id = ident
        self.media = media
        self.index = 0
        self.target_uri = target_uri
        self.language = language
        self.state = "queued"
        self.timer = None
        self.remaining = None
        self.started_at = None

    def model(self):
        m = {"id": self.id, "media_uri": self.media[self.index]}
        if self.index + 1 < len(self.media):
            m["next_media_uri"] = self.media[self.index + 1]
        m.update({"target_uri": self.target_uri, "language": self.language, "state": self.state})
        return m


class LiveRecording:
    def __init__(self, name, fmt, target_uri, terminate_on="none", max_silence=0, beep=False):
        self.name = name
        self.format = fmt
        self.target_uri = target_uri
        self.state = "queued"
        self.started = time.monotonic()
        self.timer = None
        self.muted = False
        self.duration = None
        self.terminate_on = terminate_on or "none"   # none, any, * or #: a DTMF key that ends it
        self.max_silence = max_silence or 0          # seconds of silence that end it (0: never)
        self.silence_timer = None
        self.silence_since = None                    # monotonic time the current silence began
        self.talking = 0.0                           # seconds the caller talked into it
        self.beep = beep
        self.live = False                            # RecordingStarted sent: it hears the caller now
        self.talking_duration = None
        self.silence_duration = None

    def model(self):
        m = {"name": self.name, "format": self.format, "state": self.state, "target_uri": self.target_uri}
        if self.duration is not None:
            m["duration"] = self.duration
        if self.talking_duration is not None:
            m["talking_duration"] = self.talking_duration
            m["silence_duration"] = self.silence_duration
        return m


class Asterisk:
    """One simulated Asterisk instance (a restart makes a new one).

    ``deliver(app, payload_bytes)`` is how events leave: the server wires it
    to the app's websocket.
    """

    def __init__(self, entity_id, version, media_scale=1.0, default_sound_seconds=0.05,
                 endpoints=None, system_name=""):
        self.entity_id = entity_id
        self.version = version
        self.media_scale = media_scale
        self.default_sound_seconds = default_sound_seconds
        self.startup = now_stamp()
        self._counter = 0
        self._generated = set()
        self._device_channels = {}
        self._timers = set()
        self._local_counter = 0
        self._snoop_counter = 0
        self._announcer_counter = 0
        self.apps = {}
        self.channels = {}
        self.bridges = {}
        self.playbacks = {}
        self.live_recordings = {}
        self.stored_recordings = {}
        self.global_vars = {}
        self.device_states = {}
        self.mailboxes = {}
        self.modules = {name: {"name": name, "description": d, "use_count": 0, "status": "Running",
                               "support_level": lvl} for name, (d, lvl, _r) in MODULES.items()}
        self.log_channels = {
            "/var/log/asterisk/messages.log": {"channel": "/var/log/asterisk/messages.log", "type": "File",
                                               "status": "Enabled",
                                               "configuration": "NOTICE WARNING ERROR VERBOSE "},
            "": {"channel": "", "type": "Console", "status": "Enabled",
                 "configuration": "NOTICE WARNING ERROR VERBOSE "},
        }
        self.config_objects = {}
        self.endpoints = {}
        for tech, resource in (endpoints or ()):
            self.add_endpoint(tech, resource)
        self.system_name = system_name
        self.events_sent = 0
        self.closed = False

    # ---------------------------------------------------------------- ids
    def new_channel_id(self):
        """Asterisk's unique id: creation time (epoch seconds) and a counter of every channel made."""
        ident = "%d.%d" % (time.time(), self._counter)
        self._counter += 1
        self._generated.add(ident)
        return ident

    def add_endpoint(self, tech, resource, state="online"):
        self.endpoints[(tech, resource)] = {"technology": tech, "resource": resource, "state": state,
                                            "channel_ids": []}

    # ---------------------------------------------------------------- events
    def emit(self, event_type, fields, channels=(), bridges=(), devices=(), endpoints=(), apps=None):
        """Send an event to every app that should see it.

        ``apps`` (names) restricts delivery to those apps (e.g. the app a user
        event names); otherwise subscribers of the given entities and
        subscribe-all apps receive it.
        """
        if self.closed:
            return
        targets = []
        if apps is not None:
            for name in apps:
                app = self.apps.get(name)
                if app is not None:
                    targets.append(app)
        else:
            for app in self.apps.values():
                if app.subscribe_all:
                    targets.append(app)
                    continue
                if (any(c in app.channel_ids for c in channels) or any(b in app.bridge_ids for b in bridges)
                        or any(d in app.device_names for d in devices)
                        or any(e in app.endpoint_ids for e in endpoints)):
                    targets.append(app)
        if not targets:
            return
        event = {"type": event_type, "timestamp": now_stamp()}
        event.update(fields)
        event["asterisk_id"] = self.entity_id
        body = jsonutil.dumps(event)
        head = body[:-1] + b',"application":'
        for app in targets:
            if app.socket is not None and app.wants(event_type):
                app.socket.send(head + app.name_json + b"}")
                self.events_sent += 1

    def emit_channel(self, event_type, chan, extra=None, apps=None):
        fields = dict(extra or ())
        fields["channel"] = chan.model()
        self.emit(event_type, fields, channels=(chan.id,), apps=apps)

    def later(self, seconds, func, *args):
        """Run ``func`` after ``seconds`` (scaled by media_scale) unless this instance is gone."""
        def run():
            self._timers.discard(timer)
            if not self.closed:
                func(*args)
        timer = gevent.spawn_later(max(0.0, seconds * self.media_scale), run)
        self._timers.add(timer)
        return timer

    def close(self):
        """This Asterisk is gone (stop or restart): nothing more is emitted, pending timers are dropped."""
        self.closed = True
        timers, self._timers = self._timers, set()
        for timer in timers:
            timer.kill(block=False)

    def soon(self, func, *args):
        """Run ``func`` right after the current request has answered (as Asterisk races them)."""
        def run():
            if not self.closed:
                func(*args)
        return gevent.spawn(run)

    # ---------------------------------------------------------------- apps
    def register_app(self, name, socket, subscribe_all):
        old = self.apps.get(name)
        if old is not None and old.socket is None:
            # a websocket for an app whose socket closed while it still had channels or subscriptions:
            # Asterisk reactivates it with them ("Application 'x' reactivated"), no event
            log.info("simulator: application %s reactivated", name)
            old.socket = socket
            old.subscribe_all = subscribe_all
            return old
        if old is not None and old.socket is not None and old.socket is not socket:
            self.emit("ApplicationReplaced", {"application": name}, apps=[name])
            old.socket = None
            app = old
            app.socket = socket
            app.subscribe_all = subscribe_all
            return app
        app = App(name, socket, subscribe_all)
        self.apps[name] = app
        return app

    def unregister_socket(self, socket):
        """The app's websocket closed: as Asterisk deactivates it, an app that still has channels or
        subscriptions keeps them (its channels stay in Stasis, its events go nowhere) until the app is
        registered again or its last subscription goes; one with none is gone at once."""
        for name, app in list(self.apps.items()):
            if app.socket is socket:
                app.socket = None
                if not app.has_subscriptions():
                    del self.apps[name]
                else:
                    log.info("simulator: application %s deactivated (its websocket closed)", name)

    def prune_apps(self):
        """Forget deactivated apps left without subscriptions (Asterisk's app_is_finished)."""
        for name in [n for n, a in self.apps.items() if a.socket is None and not a.has_subscriptions()]:
            del self.apps[name]

    def get_app(self, name):
        app = self.apps.get(name)
        if app is None:
            raise Fault(404, "Application not found")
        return app

    def subscribe_channel(self, app_name, chan):
        app = self.apps.get(app_name)
        if app is not None:
            app.add("channel_ids", chan.id)

    # ---------------------------------------------------------------- channels
    def get_channel(self, ident):
        chan = self.channels.get(ident)
        if chan is None:
            raise Fault(404, "Channel not found")
        return chan

    def stasis_channel(self, ident):
        chan = self.get_channel(ident)
        if chan.app is None:
            raise Fault(409, "Channel not in Stasis application")
        return chan

    def add_channel(self, chan):
        if chan.id in self.channels:
            raise Fault(409, "Channel with given unique ID already exists")
        if chan.id in self._generated:
            self._generated.discard(chan.id)
        else:
            self._counter += 1  # a caller-chosen id still uses up a number
        self.channels[chan.id] = chan
        self.emit_channel("ChannelCreated", chan)
        self._device_use(chan, +1)
        return chan

    def _device_use(self, chan, delta):
        """Channel devices (``Local/1000@default``) turn INUSE with their first channel, NOT_INUSE after the last."""
        device = chan.name.rsplit("-", 1)[0]
        count = self._device_channels.get(device, 0) + delta
        self._device_channels[device] = count
        if chan.tech == "Snoop":
            state = "INVALID"
        elif delta > 0 and count == 1:
            state = "INUSE"
        elif delta < 0 and count == 0:
            state = "NOT_INUSE"
            del self._device_channels[device]
        else:
            return
        self.emit("DeviceStateChanged", {"device_state": {"name": device, "state": state}}, devices=(device,))

    def set_state(self, chan, state):
        if chan.state != state:
            chan.state = state
            self.emit_channel("ChannelStateChange", chan)

    def set_var(self, chan, name, value, events=True):
        upper = name.upper()
        if upper.startswith("CALLERID(") or upper.startswith("CONNECTEDLINE("):
            self._set_callerid(chan, upper, value)
            return
        if upper.startswith("TALK_DETECT("):
            chan.talk_detect = upper == "TALK_DETECT(SET)"
            return
        if upper.startswith("DENOISE(") or upper.startswith("VOLUME("):
            return
        chan.vars[name] = value
        if events:
            self.emit_channel("ChannelVarset", chan, {"variable": name, "value": value})

    def _set_callerid(self, chan, upper, value):
        target = chan.caller if upper.startswith("CALLERID(") else chan.connected
        what = upper[upper.index("(") + 1:-1].lower()
        if what == "name":
            target["name"] = value
        elif what in ("num", "number"):
            target["number"] = value
        elif what == "all":
            target.update(parse_callerid(value))
        if target is chan.caller:
            self.emit_channel("ChannelCallerId", chan, {"caller_presentation": 0,
                                                         "caller_presentation_txt": "Presentation Allowed, Not Screened"})
        else:
            self.emit_channel("ChannelConnectedLine", chan)

    def get_var(self, chan, name):
        upper = name.upper()
        if upper.startswith("CALLERID("):
            what = upper[9:-1].lower()
            if what == "name":
                return chan.caller["name"]
            if what in ("num", "number"):
                return chan.caller["number"]
            if what == "all":
                return '"%s" <%s>' % (chan.caller["name"], chan.caller["number"])
            return ""
        if upper.startswith("CONNECTEDLINE("):
            what = upper[14:-1].lower()
            return chan.connected["name"] if what == "name" else chan.connected["number"]
        if name in chan.vars:
            return chan.vars[name]
        if name in self.global_vars:
            return self.global_vars[name]
        raise Fault(404, "Provided variable was not found", reason="Variable Not Found")

    def enter_stasis(self, chan, app_name, args):
        app = self.apps.get(app_name)
        if app is None or app.socket is None:
            # Stasis() for an application nobody registered (or whose websocket is gone: deactivated)
            # fails and the channel hangs up
            log.info("simulator: Stasis app '%s' not registered or not active; hanging up %s", app_name, chan.id)
            chan.dialplan.update({"app_name": "Stasis", "app_data": ",".join([app_name] + list(args))})
            self.set_var(chan, "STASISSTATUS", "FAILED")
            self.hangup(chan, 16, by_ari=False)
            return
        chan.app = app_name
        chan.dialplan.update({"app_name": "Stasis", "app_data": ",".join([app_name] + list(args))})
        self.subscribe_channel(app_name, chan)
        self.set_var(chan, "STASISSTATUS", "")
        # Stasis events go to the channel's application only (not to subscribe-all observers)
        self.emit_channel("StasisStart", chan, {"args": list(args)}, apps=[app_name])

    def leave_stasis(self, chan):
        if chan.app is None:
            return
        self.emit_channel("StasisEnd", chan, apps=[chan.app])
        chan.app = None

    def hangup(self, chan, cause=16, by_ari=True):
        """Hang up ``chan`` (and its Local peer) with Asterisk's event order."""
        if chan.destroyed:
            return
        chan.destroyed = True
        for t in chan.timers:
            t.kill(block=False)
        self.emit_channel("ChannelHangupRequest", chan, {"cause": 32, "soft": True} if by_ari else {"cause": cause})
        self._stop_channel_media(chan)
        if chan.bridge is not None:
            bridge = self.bridges.get(chan.bridge)
            if bridge is not None:
                self.leave_bridge(bridge, chan, unsubscribe=False)
        in_stasis = chan.app is not None
        self.leave_stasis(chan)
        if chan.tech == "Snoop":
            # the recording shows nothing after a snoop channel's StasisEnd
            for app in self.apps.values():
                app.remove("channel_ids", chan.id)
        if in_stasis:
            self.set_var(chan, "STASISSTATUS", "SUCCESS")
        peer = chan.peer
        if peer is not None and not peer.destroyed:
            self.emit_channel("ChannelHangupRequest", peer, {"cause": cause})
        self._destroy(chan, cause)
        if peer is not None and not peer.destroyed:
            peer.destroyed = True
            for t in peer.timers:
                t.kill(block=False)
            self.emit_channel("ChannelHangupRequest", peer, {"cause": 16, "soft": True})
            self._stop_channel_media(peer)
            if peer.bridge is not None and peer.bridge in self.bridges:
                self.leave_bridge(self.bridges[peer.bridge], peer, unsubscribe=False)
            if peer.app is not None:
                self.leave_stasis(peer)
                self.set_var(peer, "STASISSTATUS", "SUCCESS")
            watchers = [a.name for a in self.apps.values() if peer.id in a.channel_ids]
            self._destroy(peer, cause)
            if peer.caller_from_originate:
                # recorded quirk: the ;2 half of an originate with a caller id reports its caller id
                # going away after ChannelDestroyed; clients must cope with events after destruction
                peer.caller = {"name": "", "number": ""}
                self.emit_channel("ChannelCallerId", peer, {"caller_presentation": 67,
                                                             "caller_presentation_txt": "Number Unavailable"},
                                  apps=watchers + [a.name for a in self.apps.values()
                                                   if a.subscribe_all and a.name not in watchers])

    def _destroy(self, chan, cause):
        known = self.channels.pop(chan.id, None) is not None
        self.emit_channel("ChannelDestroyed", chan, {"cause": cause, "cause_txt": CAUSE_TEXT.get(cause, "Unknown")})
        if known:
            self._device_use(chan, -1)
        for app in self.apps.values():
            app.remove("channel_ids", chan.id)
        self.prune_apps()
        for ep in self.endpoints.values():
            if chan.id in ep["channel_ids"]:
                ep["channel_ids"].remove(chan.id)

    def _stop_channel_media(self, chan):
        target = "channel:" + chan.id
        for pb in [p for p in self.playbacks.values() if p.target_uri == target]:
            self.finish_playback(pb, "done")
        for rec in [r for r in self.live_recordings.values() if r.target_uri == target]:
            self.finish_recording(rec, "done")

    # ---------------------------------------------------------------- what the far end does
    def dtmf(self, chan, digit, duration_ms=100):
        """The caller pressed ``digit`` on ``chan``: ChannelDtmfReceived, and a live recording of the
        channel whose ``terminate_on`` matches ends (state done, as Asterisk stores it)."""
        if chan.destroyed:
            return
        self.emit_channel("ChannelDtmfReceived", chan, {"digit": digit, "duration_ms": duration_ms})
        target = "channel:" + chan.id
        for rec in [r for r in self.live_recordings.values() if r.target_uri == target]:
            if rec.live and rec.state == "recording" and (rec.terminate_on == "any" or rec.terminate_on == digit):
                self.finish_recording(rec, "done")

    def inject_dtmf(self, chan, digits, at=0.0, between=0.25, duration_ms=100, times=None):
        """Schedule ``digits`` pressed on ``chan``: the first ``at`` seconds from now, then one every
        ``between`` seconds, or at the offsets in ``times`` (one per digit).  Seconds are media
        seconds (scaled by media_scale).  Returns the offsets used."""
        digits = [d for d in str(digits) if d in "0123456789ABCD*#"]
        if times is None:
            times = [at + i * between for i in range(len(digits))]
        times = [float(t) for t in times]
        if len(times) != len(digits):
            raise ValueError("%d digits but %d times" % (len(digits), len(times)))
        for digit, t in zip(digits, times):
            chan.timers.append(self.later(t, self.dtmf, chan, digit, duration_ms))
        return times

    def speak(self, chan, seconds, at=0.0):
        """The caller talks for ``seconds`` starting ``at`` seconds from now (media seconds): silence
        detection of a recording on the channel waits while it lasts."""
        def start():
            if chan.destroyed or chan.speaking_since is not None:
                return
            chan.speaking_since = time.monotonic()
            for rec in self._channel_recordings(chan):
                if rec.silence_timer is not None:
                    rec.silence_timer.kill(block=False)
                    rec.silence_timer = None
            chan.timers.append(self.later(seconds, stop))

        def stop():
            if chan.speaking_since is None:
                return
            now = time.monotonic()
            for rec in self._channel_recordings(chan):
                rec.talking += (now - max(chan.speaking_since, rec.started)) / max(self.media_scale, 1e-9)
                if rec.max_silence and rec.state == "recording":
                    self._silence_started(rec)
            chan.speaking_since = None
        chan.timers.append(self.later(at, start))

    def _channel_recordings(self, chan):
        target = "channel:" + chan.id
        return [r for r in self.live_recordings.values() if r.target_uri == target]

    def remote_hangup(self, chan, cause=16, at=0.0):
        """The far end hangs up ``chan`` (``at`` media seconds from now) with ``cause``."""
        if at and at > 0:
            self.later(at, self.hangup, chan, cause, False)  # not in chan.timers: hangup() kills those
        else:
            self.soon(self.hangup, chan, cause, False)

    def incoming_call(self, app, caller="", exten="s", context="from-external", endpoint="PJSIP/caller",
                      channel_id=None, args=(), ring_timeout=None):
        """A call from outside: a new ringing channel runs ``Stasis(app)`` (StasisStart in state Ring);
        the application answers it.  ``ring_timeout`` (media seconds): the caller gives up unanswered
        (cause 16).  Returns the Channel."""
        tech, _, resource = endpoint.partition("/")
        if tech not in CHANNEL_TECHS or not resource:
            raise ValueError("endpoint must be Tech/resource with a known technology, not %r" % (endpoint,))
        if channel_id and channel_id in self.channels:
            raise ValueError("channel %r already exists" % channel_id)
        self._local_counter += 1
        chan = Channel(channel_id or self.new_channel_id(), "%s/%s-%08x" % (tech, resource, self._local_counter - 1),
                       tech, "Ring", context, exten, 1, caller=parse_callerid(caller) if caller else None)
        self.add_channel(chan)
        ep = self.endpoints.get((tech, resource))
        if ep is not None:
            ep["channel_ids"].append(chan.id)
        args = list(args)

        def into_stasis():
            if chan.destroyed:
                return
            self.emit_channel("ChannelDialplan", chan, {"dialplan_app": "Stasis",
                                                        "dialplan_app_data": ",".join([app] + args)})
            self.enter_stasis(chan, app, args)
        self.soon(into_stasis)
        if ring_timeout:
            def give_up():
                if chan.state != "Up":
                    self.hangup(chan, 16, by_ari=False)
            self.later(ring_timeout, give_up)  # not in chan.timers: hangup() kills those
        return chan

    # ---------------------------------------------------------------- originate
    def originate(self, endpoint, app=None, args=(), channel_id=None, other_id=None, caller=None,
                  variables=None, timeout=30, context=None, extension=None, priority=1, create_only=False):
        tech, resource = split_endpoint(endpoint)
        for ident in (channel_id, other_id):
            if ident and ident in self.channels:
                raise Fault(409, "Channel with given unique ID already exists")
        ident = channel_id or self.new_channel_id()
        if tech == "Local":
            exten, _, ctx = resource.partition("@")
            ctx = ctx or "default"
            self._local_counter += 1
            base = "Local/%s@%s-%08x" % (exten, ctx, self._local_counter - 1)
            other = other_id or (channel_id + ";2" if channel_id else self.new_channel_id())
            c1 = Channel(ident, base + ";1", "Local", "Down", ctx, exten, 1)
            c2 = Channel(other, base + ";2", "Local", "Ring", ctx, exten, 1)
            c1.peer, c2.peer = c2, c1
            if caller:
                c1.caller.update(caller)
                c1.connected.update(caller)
            self.add_channel(c1)
            self.add_channel(c2)
        else:
            c2 = None
            self._local_counter += 1
            c1 = Channel(ident, "%s/%s-%08x" % (tech, resource, self._local_counter - 1), tech, "Down",
                         context or "default", extension or "s", 1)
            if caller:
                c1.caller.update(caller)
            self.add_channel(c1)
            ep = self.endpoints.get((tech, resource))
            if ep is not None:
                ep["channel_ids"].append(c1.id)
        if not create_only:
            c1.dialplan.update({"app_name": "AppDial2", "app_data": "(Outgoing Line)"})
        if app:
            self.subscribe_channel(app, c1)
            if c2 is not None and not create_only:
                self.subscribe_channel(app, c2)
        snapshot = c1.model()
        if create_only:
            self.soon(self._created_into_stasis, c1, app, list(args))
        else:
            self.soon(self._run_originate, c1, c2, app, list(args), dict(variables or {}), timeout, bool(caller))
        return c1, snapshot

    def _created_into_stasis(self, c1, app, args):
        self.emit_channel("ChannelDialplan", c1, {"dialplan_app": "Stasis",
                                                  "dialplan_app_data": ",".join([app] + args)})
        self.enter_stasis(c1, app, args)

    def _target_behaviour(self, chan):
        exten = chan.dialplan["exten"]
        ctx = chan.dialplan["context"]
        if ctx == "broadcast":
            return "broadcast"
        if exten in ("4000", "busy"):
            return "busy"
        if exten in ("4001", "congestion"):
            return "congestion"
        if exten in ("3000", "noanswer"):
            return "noanswer"
        return "answer"

    def _run_originate(self, c1, c2, app, args, variables, timeout, caller_given=False):
        if c1.destroyed:
            return
        target = c2 or c1
        for name, value in variables.items():
            # the variables belong to the originated channel; Asterisk reports them on the Local ;2 half
            if c2 is not None and "(" not in name:
                c1.vars[name] = str(value)
            self.set_var(target, name, str(value))
        if caller_given and c2 is not None:
            # the ;2 half is called with the originate's caller id, and sees ;1 as its connected line
            c2.caller = dict(c1.connected)
            c2.connected = dict(c1.caller)
            c2.caller_from_originate = True
            self.emit_channel("ChannelCallerId", c2, {"caller_presentation": 0,
                                                       "caller_presentation_txt": "Presentation Allowed, Not Screened"})
            self.emit_channel("ChannelConnectedLine", c2)
        dialstring = c1.name.split("/", 1)[1].rsplit("-", 1)[0]
        dial = lambda status, ds=dialstring: self.emit("Dial", {"dialstatus": status, "forward": "", "dialstring": ds,
                                                                 "peer": c1.model()}, channels=(c1.id,))
        dial("")
        behaviour = self._target_behaviour(c1) if c2 is not None else "answer"
        if behaviour in ("busy", "congestion"):
            # as recorded for Busy() (README items 15-16); Congestion() is assumed to follow the same shape
            app_name, status, cause = (("Busy", "BUSY", 17) if behaviour == "busy"
                                       else ("Congestion", "CONGESTION", 34))
            c2.dialplan.update({"priority": 1, "app_name": "NoOp", "app_data": app_name + " target"})
            self.emit_channel("ChannelDialplan", c2, {"dialplan_app": "NoOp",
                                                      "dialplan_app_data": app_name + " target"})
            c2.dialplan.update({"priority": 2, "app_name": app_name, "app_data": "5"})
            self.emit_channel("ChannelDialplan", c2, {"dialplan_app": app_name, "dialplan_app_data": "5"})
            self.set_state(c2, "Busy")
            dial(status)
            self.emit_channel("ChannelHangupRequest", c2, {"cause": 0})
            c1.destroyed = c2.destroyed = True
            self._destroy(c1, 0)
            self.emit_channel("ChannelHangupRequest", c2, {"cause": 16, "soft": True})
            c2.dialplan.update({"app_name": "", "app_data": ""})
            self._destroy(c2, cause)
            return
        if behaviour == "noanswer":
            self.set_state(c1, "Ringing")
            dial("RINGING")
            c1.timers.append(self.later(timeout if timeout > 0 else 30, self._no_answer, c1, c2))
            return
        if behaviour == "broadcast":
            self._broadcast(c2)
            return
        if c2 is not None:
            c2.dialplan.update({"priority": 1, "app_name": "NoOp", "app_data": "Answer + Wait target"})
            self.emit_channel("ChannelDialplan", c2, {"dialplan_app": "NoOp",
                                                      "dialplan_app_data": "Answer + Wait target"})
            c2.dialplan.update({"priority": 2, "app_name": "Answer", "app_data": ""})
            self.emit_channel("ChannelDialplan", c2, {"dialplan_app": "Answer", "dialplan_app_data": ""})
            self.set_state(c2, "Up")
        self.set_state(c1, "Up")
        dial("ANSWER")
        if c2 is not None:
            c2.dialplan.update({"priority": 3, "app_name": "Wait", "app_data": "600"})
        if app:
            self.enter_stasis(c1, app, args)

    def _no_answer(self, c1, c2):
        if c1.destroyed:
            return
        c1.destroyed = c2.destroyed = True
        self.emit_channel("ChannelHangupRequest", c2, {"cause": 19})
        self._destroy(c1, 19)
        self.emit_channel("ChannelHangupRequest", c2, {"cause": 16, "soft": True})
        self._destroy(c2, 19)

    def _broadcast(self, chan):
        chan.broadcast = True
        chan.dialplan.update({"priority": 2, "app_name": "StasisBroadcast", "app_data": "3000"})
        for app in list(self.apps.values()):
            self.emit("CallBroadcast", {"channel": chan.model(), "caller": chan.caller["number"],
                                        "called": chan.dialplan["exten"]}, apps=[app.name])

    def dial(self, chan, caller_id=None, timeout=0):
        if chan.state != "Down":
            raise Fault(409, "Channel is not in the 'Down' state")
        if caller_id:
            other = self.channels.get(caller_id)
            if other is not None:
                chan.connected = dict(other.caller)
                self.emit_channel("ChannelConnectedLine", chan)

        def progress():
            if chan.destroyed:
                return
            self.emit("Dial", {"dialstatus": "", "forward": "", "dialstring": chan.name.split("/", 1)[1].rsplit("-", 1)[0],
                               "peer": chan.model()}, channels=(chan.id,))
            if chan.peer is not None and self._target_behaviour(chan) == "busy":
                self.emit("Dial", {"dialstatus": "BUSY", "forward": "", "dialstring": "", "peer": chan.model()},
                          channels=(chan.id,))
                return
            self.set_state(chan, "Up")
            if chan.peer is not None:
                chan.peer.state = "Up"
            self.emit("Dial", {"dialstatus": "ANSWER", "forward": "", "dialstring": "", "peer": chan.model()},
                      channels=(chan.id,))
        self.soon(progress)

    # ---------------------------------------------------------------- bridges
    def get_bridge(self, ident, reason=None):
        bridge = self.bridges.get(ident)
        if bridge is None:
            raise Fault(404, "Bridge not found", reason=reason)
        return bridge

    def create_bridge(self, ident, types, name):
        if ident in self.bridges:
            raise Fault(409, "Bridge with id '%s' already exists" % ident)
        bridge = Bridge(ident or str(uuid.uuid4()), types, name)
        self.bridges[bridge.id] = bridge
        self.emit("BridgeCreated", {"bridge": bridge.model()}, bridges=(bridge.id,))
        return bridge

    def _update_bridgepeers(self, bridge):
        members = [self.channels[c] for c in bridge.channels if c in self.channels]
        if len(members) < 2:
            return
        for chan in members:
            peers = ",".join(m.name for m in members if m is not chan)
            if chan.vars.get("BRIDGEPEER") != peers:
                self.set_var(chan, "BRIDGEPEER", peers)

    def join_bridge(self, bridge, chan):
        if chan.bridge is not None and chan.bridge != bridge.id and chan.bridge in self.bridges:
            self.leave_bridge(self.bridges[chan.bridge], chan)
        if chan.id in bridge.channels:
            return
        bridge.channels.append(chan.id)
        chan.bridge = bridge.id
        if chan.app is not None and chan.app in self.apps:
            self.apps[chan.app].add("bridge_ids", bridge.id)
        self.emit("ChannelEnteredBridge", {"bridge": bridge.model(), "channel": chan.model()},
                  channels=(chan.id,), bridges=(bridge.id,))

    def leave_bridge(self, bridge, chan, unsubscribe=True):
        if chan.id not in bridge.channels:
            return
        if chan.vars.get("BRIDGEPEER"):
            self.set_var(chan, "BRIDGEPEER", "")
        bridge.channels.remove(chan.id)
        chan.bridge = None
        if bridge.video_source_id == chan.id:
            old = bridge.video_source_id
            bridge.video_source_id = None
            bridge.video_mode = "talker"
            self.emit("BridgeVideoSourceChanged", {"bridge": bridge.model(), "old_video_source_id": old},
                      bridges=(bridge.id,))
        self.emit("ChannelLeftBridge", {"bridge": bridge.model(), "channel": chan.model()},
                  channels=(chan.id,), bridges=(bridge.id,))
        if unsubscribe and chan.app is not None and chan.app in self.apps:
            self.apps[chan.app].remove("bridge_ids", bridge.id)
            self.prune_apps()

    def destroy_bridge(self, bridge):
        if self.bridges.get(bridge.id) is not bridge:
            return  # already destroyed (two DELETEs raced)
        for cid in list(bridge.channels):
            chan = self.channels.get(cid)
            if chan is not None:
                self.leave_bridge(bridge, chan)
            elif cid in bridge.channels:
                bridge.channels.remove(cid)
        target = "bridge:" + bridge.id
        for pb in [p for p in self.playbacks.values() if p.target_uri == target]:
            self.finish_playback(pb, "done")
        for rec in [r for r in self.live_recordings.values() if r.target_uri == target]:
            self.finish_recording(rec, "done")
        del self.bridges[bridge.id]
        self.emit("BridgeDestroyed", {"bridge": bridge.model()}, bridges=(bridge.id,))
        for app in self.apps.values():
            app.remove("bridge_ids", bridge.id)
        self.prune_apps()

    def announcer(self, bridge, kind="ARI"):
        """Bridge playback/MOH/recording joins a helper channel: members see a new BRIDGEPEER."""
        self._announcer_counter += 1
        prefix = "Recorder" if kind == "REC" else "Announcer"
        suffix = "ARI_MOH" if kind == "MOH" else "ARI"
        value = "%s/%s-%08x;2" % (prefix, suffix, self._announcer_counter)
        for cid in bridge.channels:
            chan = self.channels.get(cid)
            if chan is not None and len(bridge.channels) == 1:
                self.set_var(chan, "BRIDGEPEER", value)

    # ---------------------------------------------------------------- playbacks
    def target_routing(self, target_uri):
        kind, _, ident = target_uri.partition(":")
        if kind == "channel":
            return {"channels": (ident,)}
        bridge = self.bridges.get(ident)
        return {"bridges": (ident,), "channels": tuple(bridge.channels) if bridge else ()}

    def media_seconds(self, uri):
        """Length of one media URI; None = plays until stopped; -1 = fails at once."""
        scheme, _, rest = uri.partition(":")
        if scheme == "sound":
            if rest in SOUND_SECONDS:
                return SOUND_SECONDS[rest]
            # playback_duration is meant as is: undo the media_scale that later() applies
            return self.default_sound_seconds / max(self.media_scale, 1e-9) if rest in SOUNDS else -1
        if scheme == "recording":
            return 1.0 if rest in self.stored_recordings else -1
        if scheme in ("digits", "number", "characters"):
            return max(0.05, 0.75 * len(rest))
        if scheme == "tone":
            return None
        return "unknown"

    def start_playback(self, pb):
        self.playbacks[pb.id] = pb
        self.soon(self._play_item, pb, True)

    def _play_item(self, pb, first):
        if pb.id not in self.playbacks:
            return
        pb.state = "playing"
        route = self.target_routing(pb.target_uri)
        self.emit("PlaybackStarted", {"playback": pb.model()}, **route)
        seconds = self.media_seconds(pb.media[pb.index])
        if seconds == "unknown":
            # Asterisk forgets a playback of an unknown scheme without ever finishing it
            self.playbacks.pop(pb.id, None)
            return
        if seconds == -1:
            self.finish_playback(pb, "failed")
            return
        pb.remaining = seconds
        pb.started_at = time.monotonic()
        if seconds is not None:
            pb.timer = self.later(seconds, self._item_done, pb)
            if first and pb.target_uri.startswith("channel:"):
                chan = self.channels.get(pb.target_uri[8:])
                if chan is not None and chan.talk_detect and chan.tech == "Local":
                    # the Local peer echoes the sound back: talk detection hears it (as recorded)
                    chan.timers.append(self.later(min(0.08, seconds / 2), self._talking, chan, None))
                    chan.timers.append(self.later(seconds, self._talking, chan, int(max(0.0, seconds - 0.16) * 1000)))

    def _talking(self, chan, duration):
        if chan.destroyed or not chan.talk_detect:
            return
        if duration is None:
            self.emit_channel("ChannelTalkingStarted", chan)
        else:
            self.emit_channel("ChannelTalkingFinished", chan, {"duration": duration})

    def _item_done(self, pb):
        if pb.id not in self.playbacks or pb.state != "playing":
            return
        if pb.index + 1 < len(pb.media):
            pb.state = "continuing"
            self.emit("PlaybackContinuing", {"playback": pb.model()}, **self.target_routing(pb.target_uri))
            pb.index += 1
            self._play_item(pb, False)
            return
        self.finish_playback(pb, "done")

    def finish_playback(self, pb, state):
        if self.playbacks.pop(pb.id, None) is None:
            return
        if pb.timer is not None:
            pb.timer.kill(block=False)
        pb.state = state
        self.emit("PlaybackFinished", {"playback": pb.model()}, **self.target_routing(pb.target_uri))

    def control_playback(self, pb, op):
        if op == "pause":
            if pb.state == "playing" and pb.timer is not None:
                pb.timer.kill(block=False)
                pb.timer = None
                if pb.remaining is not None:
                    pb.remaining = max(0.0, pb.remaining - (time.monotonic() - pb.started_at) / max(self.media_scale, 1e-9))
            pb.state = "paused"
        elif op == "unpause":
            if pb.state == "paused":
                pb.state = "playing"
                self.emit("PlaybackStarted", {"playback": pb.model()}, **self.target_routing(pb.target_uri))
                self._resume(pb)
        elif op == "restart":
            pb.remaining = self.media_seconds(pb.media[pb.index])
            if pb.state == "playing":
                self._resume(pb)
        # forward/reverse move within the media: the simulated length stays as it is

    def _resume(self, pb):
        if pb.timer is not None:
            pb.timer.kill(block=False)
            pb.timer = None
        if isinstance(pb.remaining, float) or isinstance(pb.remaining, int):
            if pb.remaining >= 0:
                pb.started_at = time.monotonic()
                pb.timer = self.later(pb.remaining, self._item_done, pb)

    # ---------------------------------------------------------------- recordings
    def start_recording(self, rec, max_seconds, from_bridge):
        self.live_recordings[rec.name] = rec

        def started():
            if self.live_recordings.get(rec.name) is not rec:
                return
            rec.state = "recording"
            rec.live = True
            rec.started = time.monotonic()
            self.emit("RecordingStarted", {"recording": rec.model()}, **self.target_routing(rec.target_uri))
            if max_seconds and max_seconds > 0:
                rec.timer = self.later(max_seconds, self.finish_recording, rec, "done")
            chan = self._recorded_channel(rec)
            if rec.max_silence and chan is not None and chan.speaking_since is None:
                self._silence_started(rec)  # (channel recordings only: nobody talks into a bridge here)
        if not from_bridge:
            rec.state = "recording"  # Asterisk answers a channel recording as recording, a bridge one as queued
        if rec.beep:
            # the beep is played to the channel first (no playback events), then recording starts
            self.later(SOUND_SECONDS["beep"], started)
        else:
            self.soon(started)

    def _recorded_channel(self, rec):
        kind, _, ident = rec.target_uri.partition(":")
        return self.channels.get(ident) if kind == "channel" else None

    def _silence_started(self, rec):
        rec.silence_since = time.monotonic()
        if rec.silence_timer is not None:
            rec.silence_timer.kill(block=False)
        rec.silence_timer = self.later(rec.max_silence, self._silence_ended_recording, rec)

    def _silence_ended_recording(self, rec):
        rec.silence_timer = None
        self.finish_recording(rec, "done", trim=rec.max_silence)

    def finish_recording(self, rec, state, trim=0.0):
        """End a live recording (``trim``: trailing seconds of silence Asterisk cuts off)."""
        if self.live_recordings.get(rec.name) is not rec:
            return
        del self.live_recordings[rec.name]
        if rec.timer is not None:
            rec.timer.kill(block=False)
        if rec.silence_timer is not None:
            rec.silence_timer.kill(block=False)
            rec.silence_timer = None
        elapsed = (time.monotonic() - rec.started) / max(self.media_scale, 1e-9)
        if not rec.live:
            elapsed = 0.0  # ended before it started (e.g. during the beep)
        rec.duration = int(max(0.0, elapsed - trim))
        chan = self._recorded_channel(rec)
        if rec.max_silence and chan is not None:
            talking = rec.talking
            if chan is not None and chan.speaking_since is not None:
                talking += (time.monotonic() - max(chan.speaking_since, rec.started)) / max(self.media_scale, 1e-9)
            rec.talking_duration = int(min(talking, rec.duration))
            rec.silence_duration = max(0, rec.duration - rec.talking_duration)
        rec.state = state
        if state == "done":
            self.stored_recordings[rec.name] = {"name": rec.name, "format": rec.format}
        self.emit("RecordingFinished", {"recording": rec.model()}, **self.target_routing(rec.target_uri))


def split_endpoint(endpoint):
    """``Tech/resource`` -> (tech, resource) with Asterisk's errors."""
    if not endpoint:
        raise Fault(400, "Endpoint must be specified")
    if "/" not in endpoint:
        raise Fault(400, "Invalid endpoint specified")
    tech, resource = endpoint.split("/", 1)
    if tech not in CHANNEL_TECHS:
        raise Fault(500, "Allocation failed", key="error")
    return tech, resource


def parse_callerid(text):
    """``"Name" <number>`` -> {"name", "number"}."""
    text = (text or "").strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].rpartition("<")
        return {"name": name.strip().strip('"'), "number": number.strip()}
    if text.replace("+", "").isdigit():
        return {"name": "", "number": text}
    return {"name": text.strip('"'), "number": ""}
