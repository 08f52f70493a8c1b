"""The daemon's configuration: defaults < INI file < environment < command line.

Every option is one row of :data:`OPTIONS` (INI section and key, type,
default, environment names, command-line flag).  :func:`load_config` merges
the four sources, remembers where each value came from, validates the result
and returns a :class:`Config`; invalid input raises :class:`ConfigError` with a
message that names the option and its source.

The INI file is ``--config PATH`` when given (a missing file is an error),
else ``$ARIPROXY_CONFIG``, else the first of :data:`DEFAULT_CONFIG_PATHS` that
exists (``/etc/ari-proxy.conf``, then ``~/.ari-proxy.conf``); ``--no-config``
skips the file lookup.

Environment: the Go reference image's names (``ARI_APPLICATION``,
``ARI_USERNAME``, ``ARI_PASSWORD``, ``ARI_HTTP_URL``, ``ARI_WEBSOCKET_URL``,
``NATS_URL``, ``MESSAGEBUS_URL``, Kubernetes' ``NATS_SERVICE_HOST`` +
``NATS_SERVICE_PORT_CLIENT``, ``VERBOSE``), and for every option
``ARIPROXY_<KEY>`` (e.g. ``ARIPROXY_PREFIX``, ``ARIPROXY_MAX_CONCURRENT``).
The Go server has no prefix setting (it is always ``ari.``); ``ARIPROXY_PREFIX``
and ``NATS_PREFIX`` both set it here.

Nothing here blocks or touches the network.
"""
import argparse
import configparser
import os
import re
from urllib.parse import urlsplit

from ..jsonutil import mask_url

__all__ = ["Config", "ConfigError", "OPTIONS", "Option", "load_config", "build_parser",
           "DEFAULT_CONFIG_PATHS", "DEFAULT_NATS_URL", "DEFAULT_ARI_URL", "mask_secrets", "config_warnings",
           "NO_ARI_MESSAGE", "EMBEDDED_APPLICATION"]

DEFAULT_CONFIG_PATHS = ("/etc/ari-proxy.conf", "~/.ari-proxy.conf")
# Where NATS is looked for when none is configured (nats.go's DefaultURL).
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
# Where ARI is looked for when none is configured and embedded mode is off (the Go default).
DEFAULT_ARI_URL = "http://127.0.0.1:8088/ari"

#: the application embedded mode serves unless one is configured
EMBEDDED_APPLICATION = "demo"

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
REST_TRANSPORTS = ("auto", "websocket", "http")
HTTP_CLIENTS = ("requests", "native")
LOG_FORMATS = ("plain", "json")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# A NATS subject token: no dot, no wildcard, no whitespace (PROTOCOL.md section 1).
_BAD_TOKEN = re.compile(r"[.*>\s]")


class ConfigError(ValueError):
    """Invalid configuration; the message names the option and where its value came from."""


class Option:
    """One setting: INI ``section``/``key``, type, default, environment names and CLI flag."""

    def __init__(self, section, key, type, default, help, env=(), flag=None, secret=False,
                 short=None, metavar=None, choices=None, aliases=()):
        self.section = section
        self.key = key
        self.type = type              # str, int, float, bool
        self.default = default
        self.help = help
        self.env = ("ARIPROXY_" + key.upper(),) + tuple(env)
        self.flag = flag or "--" + key.replace("_", "-")
        self.short = short
        self.secret = secret
        self.metavar = metavar
        self.choices = choices
        self.aliases = tuple(aliases)     # more long flags for the same option (e.g. --demo)

    def __repr__(self):
        return "<Option %s.%s>" % (self.section, self.key)


OPTIONS = [
    # [ari]
    Option("ari", "ari_url", str, None,
           "ARI base URL including /ari, e.g. http://127.0.0.1:8088/ari (required unless --embedded)",
           env=("ARI_HTTP_URL",), metavar="URL"),
    Option("ari", "ari_ws_url", str, None,
           "ARI events websocket URL (default: derived from ari_url, ws://HOST:PORT/ari/events)",
           env=("ARI_WEBSOCKET_URL",), metavar="URL"),
    Option("ari", "ari_username", str, "asterisk", "ARI user", env=("ARI_USERNAME",), metavar="USER"),
    Option("ari", "ari_password", str, "asterisk",
           "ARI password (prefer the config file or ARI_PASSWORD: flags show in ps)",
           env=("ARI_PASSWORD",), secret=True, metavar="PASSWORD"),
    Option("ari", "application", str, "default", "ARI (Stasis) application name served",
           env=("ARI_APPLICATION",), short="-a", metavar="APP"),
    Option("ari", "rest_transport", str, "auto", "how REST calls reach ARI",
           choices=REST_TRANSPORTS),
    Option("ari", "http_client", str, "requests",
           "client for REST over HTTP: requests, or native (ariproxy's own keep-alive HTTP/1.1 "
           "client for http:// URLs, about 0.5 ms less per call)", choices=HTTP_CLIENTS),
    Option("ari", "events_ping_interval", float, 0.5,
           "seconds between pings on the ARI events websocket", metavar="SECONDS"),
    Option("ari", "events_pong_timeout", float, 1.0,
           "a websocket that sends nothing this long after a ping is dead (Asterisk gives up a slow "
           "reader's socket silently): reconnect and publish a gap marker", metavar="SECONDS"),
    Option("ari", "events_max_backlog", int, 64 * 1024 * 1024,
           "bytes of events read from Asterisk and not yet published, at most", metavar="BYTES"),
    # [nats]
    Option("nats", "nats_url", str, None,
           "NATS server URL(s), comma separated, user:pass@ or token@ allowed "
           "(unset: %s; with --embedded: a bundled nats-server on a free port)" % DEFAULT_NATS_URL,
           env=("NATS_URL", "MESSAGEBUS_URL"), metavar="URL"),
    Option("nats", "prefix", str, "ari.", "NATS subject prefix (ends with a dot)",
           env=("NATS_PREFIX",), metavar="PREFIX"),
    Option("nats", "nats_ping_interval", float, 5.0,
           "seconds between PINGs on each NATS connection; two unanswered: the connection is stale, "
           "reconnect", metavar="SECONDS"),
    Option("nats", "nats_intake_connections", int, 8,
           "NATS connections requests come in over (1-16; each request still reaches this server once): "
           "nats-server cuts a single connection as a slow consumer under a burst of big requests",
           metavar="N"),
    # [server]
    Option("server", "announce_interval", float, 60.0, "seconds between announcements",
           metavar="SECONDS"),
    Option("server", "entity_check_interval", float, 10.0,
           "seconds between checks of Asterisk's entity id", metavar="SECONDS"),
    Option("server", "max_concurrent", int, 1000,
           "requests served at once; past it requests get a busy error", metavar="N"),
    Option("server", "max_request_bytes", int, 64 * 1024 * 1024,
           "bytes of requests accepted and not yet answered, at most (at least 1 MiB); past it "
           "requests get a busy error", metavar="BYTES"),
    Option("server", "exit_on_entity_change", bool, False,
           "exit with status 1 when Asterisk's entity id changes (the Go behaviour) "
           "instead of re-announcing under the new id"),
    Option("server", "retry_auth_failures", bool, False,
           "keep retrying when Asterisk or NATS refuses the credentials at startup (default: exit with "
           "status 1 and say so, so a misconfigured service fails visibly)"),
    Option("server", "shutdown_timeout", float, 10.0,
           "seconds to let in-flight requests finish on SIGTERM", metavar="SECONDS"),
    Option("server", "http", str, None,
           "serve /health, /health/ready and /metrics over HTTP on this address, e.g. 127.0.0.1:9180 "
           "(unset: no HTTP listener)", metavar="HOST:PORT"),
    Option("server", "metrics", bool, True,
           "serve /metrics on the HTTP listener (needs the prometheus-client package: ariproxy[metrics])"),
    # [daemon]
    Option("daemon", "pidfile", str, None, "PID file (written in every mode when set)", metavar="PATH"),
    Option("daemon", "log_file", str, None, "log to this file (reopened on SIGHUP)", metavar="PATH"),
    Option("daemon", "syslog", bool, False, "log to syslog (daemon facility)"),
    Option("daemon", "log_level", str, "info", "log level", choices=LOG_LEVELS),
    Option("daemon", "log_format", str, "plain",
           "plain text lines, or json: one JSON object per line (time, level, logger, message, node, "
           "application and the fields of the request or event)", choices=LOG_FORMATS),
    Option("daemon", "embedded", bool, False,
           "demo mode: serve a SIMULATED Asterisk (in place of ari_url) and, unless nats_url is set, "
           "a bundled nats-server on a free loopback port; never for production "
           "(the init script and the systemd unit pass --no-embedded)", aliases=("--demo",)),
    Option("daemon", "demo_call", bool, True,
           "with --embedded: place one demo call through the proxy once serving and print its events"),
    Option("daemon", "sim_port", int, 0, "loopback port of the embedded simulator (0: a free port)",
           metavar="PORT"),
    Option("daemon", "embedded_nats_port", int, 0,
           "loopback port of the embedded nats-server (0: a free port)", metavar="PORT"),
]

OPTIONS_BY_KEY = {o.key: o for o in OPTIONS}
SECTIONS = ("ari", "nats", "server", "daemon")


def _parse_bool(text):
    low = str(text).strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("expected true/false, got %r" % text)


def _convert(option, raw, source):
    """Text (or an already typed value) -> the option's type; ConfigError naming the source."""
    if raw is None:
        return None
    if option.key == "embedded" and str(raw).strip().lower() == "auto":
        raise ConfigError("embedded (from %s): 'auto' is gone: a simulated Asterisk now runs only when asked "
                          "(embedded = true, --embedded); set ari_url for a real Asterisk" % source)
    try:
        if option.type is bool:
            value = raw if isinstance(raw, bool) else _parse_bool(raw)
        elif option.type is int:
            value = int(raw)
        elif option.type is float:
            value = float(raw)
        else:
            value = str(raw).strip()
            if value == "":
                # an empty setting means "not set" (so env/INI can leave an option to the defaults)
                return None
    except (TypeError, ValueError):
        raise ConfigError("%s (from %s): expected %s, got %r"
                          % (option.key, source, option.type.__name__, raw)) from None
    if option.choices and value not in option.choices:
        raise ConfigError("%s (from %s): %r is not one of %s"
                          % (option.key, source, value, ", ".join(option.choices)))
    return value


def mask_secrets(key, value):
    """How a value may be shown: passwords as ``***``, URLs with credentials masked."""
    if value is None:
        return ""
    option = OPTIONS_BY_KEY.get(key)
    if option is not None and option.secret:
        return "***"
    if key.endswith("url"):
        return mask_url(value)
    return value


class Config:
    """The effective configuration: attributes named like the options, plus where each came from.

    ``cfg.sources[key]`` is ``default``, ``file PATH``, ``env NAME`` or ``flag --name``.
    ``cfg.daemon``/``cfg.foreground`` are the run mode; ``cfg.config_path`` the file read (or None).
    """

    def __init__(self, values, sources, config_path=None, daemon=False, foreground=False):
        self.values = dict(values)
        self.sources = dict(sources)
        self.config_path = config_path
        self.daemon = daemon
        self.foreground = foreground

    def __getattr__(self, name):
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)

    def __repr__(self):
        shown = ", ".join("%s=%r" % (k, mask_secrets(k, v)) for k, v in sorted(self.values.items())
                          if v is not None)
        return "<Config %s>" % shown

    @property
    def ari_configured(self):
        """True when some source named an ARI URL (else embedded mode may start a simulator)."""
        return self.values.get("ari_url") is not None

    @property
    def nats_configured(self):
        return self.values.get("nats_url") is not None

    def server_kwargs(self, **overrides):
        """Keyword arguments for :class:`ariproxy.server.Server` (``overrides`` win, e.g. embedded URLs)."""
        kwargs = {
            "ari_url": self.ari_url or DEFAULT_ARI_URL,
            "ari_ws_url": self.ari_ws_url,
            "ari_username": self.ari_username,
            "ari_password": self.ari_password,
            "application": self.application,
            "nats_url": self.nats_url or DEFAULT_NATS_URL,
            "prefix": self.prefix,
            "announce_interval": self.announce_interval,
            "entity_check_interval": self.entity_check_interval,
            "max_concurrent": self.max_concurrent,
            "max_request_bytes": self.max_request_bytes,
            "nats_ping_interval": self.nats_ping_interval,
            "nats_intake_connections": self.nats_intake_connections,
            "exit_on_entity_change": self.exit_on_entity_change,
            "rest_transport": self.rest_transport,
            "ari_http_client": self.http_client,
            "events_ping_interval": self.events_ping_interval,
            "events_pong_timeout": self.events_pong_timeout,
            "events_max_backlog": self.events_max_backlog,
            "shutdown_timeout": self.shutdown_timeout,
            "retry_auth_failures": self.retry_auth_failures,
            "http": self.http,
            "metrics": self.metrics,
        }
        kwargs.update(overrides)
        return kwargs

    def describe(self):
        """The effective configuration as INI text, secrets masked, each value's source in a comment."""
        lines = ["# ari-proxy effective configuration (secrets masked)",
                 "# config file: %s" % (self.config_path or "none")]
        for section in SECTIONS:
            lines.append("")
            lines.append("[%s]" % section)
            for option in OPTIONS:
                if option.section != section:
                    continue
                value = self.values.get(option.key)
                if isinstance(value, bool):
                    shown = "true" if value else "false"
                else:
                    shown = mask_secrets(option.key, value)
                    if isinstance(value, float) and value == int(value):
                        shown = "%g" % value
                lines.append("%s = %s    ; %s" % (option.key, shown, self.sources.get(option.key, "default")))
        return "\n".join(lines) + "\n"


# -- validation ----------------------------------------------------------

def _check_url(key, value, source, schemes):
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise ConfigError("%s (from %s): bad URL %r: %s" % (key, source, mask_url(value), e)) from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError("%s (from %s): bad URL %r: expected %s://HOST[:PORT]..."
                          % (key, source, mask_url(value), "|".join(schemes)))


def check_token(what, value):
    """Raise ValueError unless ``value`` is a safe NATS subject token."""
    if not value:
        raise ValueError("%s must not be empty" % what)
    if _BAD_TOKEN.search(value):
        raise ValueError("%s %r must not contain '.', '*', '>' or whitespace" % (what, value))


def validate(cfg):
    """Raise ConfigError for the first invalid value of ``cfg``."""
    v, src = cfg.values, cfg.sources
    if v["ari_url"] is not None:
        _check_url("ari_url", v["ari_url"], src["ari_url"], ("http", "https"))
    if v["ari_ws_url"] is not None:
        _check_url("ari_ws_url", v["ari_ws_url"], src["ari_ws_url"], ("ws", "wss"))
    if v["nats_url"] is not None:
        for one in v["nats_url"].split(","):
            _check_url("nats_url", one.strip(), src["nats_url"], ("nats", "tls"))
    try:
        check_token("application", v["application"])
    except ValueError as e:
        raise ConfigError("application (from %s): %s" % (src["application"], e)) from None
    prefix = v["prefix"]
    if not prefix or not prefix.endswith("."):
        raise ConfigError("prefix (from %s): %r must end with a dot, like 'ari.'" % (src["prefix"], prefix))
    for token in prefix[:-1].split("."):
        try:
            check_token("prefix token", token)
        except ValueError as e:
            raise ConfigError("prefix (from %s): %s" % (src["prefix"], e)) from None
    for key in ("announce_interval", "entity_check_interval"):
        if not v[key] > 0:
            raise ConfigError("%s (from %s): must be a positive number of seconds, got %r"
                              % (key, src[key], v[key]))
    if v["shutdown_timeout"] < 0:
        raise ConfigError("shutdown_timeout (from %s): must not be negative, got %r"
                          % (src["shutdown_timeout"], v["shutdown_timeout"]))
    if v["max_concurrent"] < 1:
        raise ConfigError("max_concurrent (from %s): must be at least 1, got %r"
                          % (src["max_concurrent"], v["max_concurrent"]))
    if v["max_request_bytes"] < 1024 * 1024:
        raise ConfigError("max_request_bytes (from %s): must be at least 1048576 (1 MiB), got %r"
                          % (src["max_request_bytes"], v["max_request_bytes"]))
    if not v["nats_ping_interval"] > 0:
        raise ConfigError("nats_ping_interval (from %s): must be a positive number of seconds, got %r"
                          % (src["nats_ping_interval"], v["nats_ping_interval"]))
    if not 1 <= v["nats_intake_connections"] <= 16:
        raise ConfigError("nats_intake_connections (from %s): must be 1 to 16, got %r"
                          % (src["nats_intake_connections"], v["nats_intake_connections"]))
    if v["http"] is not None:
        host, sep, port = v["http"].rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError("http (from %s): expected HOST:PORT, e.g. 127.0.0.1:9180, got %r"
                              % (src["http"], v["http"]))
    for key in ("sim_port", "embedded_nats_port"):
        if not 0 <= v[key] <= 65535:
            raise ConfigError("%s (from %s): not a port number: %r" % (key, src[key], v[key]))
    if cfg.daemon and cfg.foreground:
        raise ConfigError("--daemon and --foreground exclude each other")
    if v["embedded"] and v["ari_url"] is not None:
        raise ConfigError("embedded (from %s) serves a simulated Asterisk, but ari_url is set (from %s): "
                          "drop one of them" % (src["embedded"], src["ari_url"]))


# -- what would surprise an operator ------------------------------------

#: clients (Python and Go) forget a server not heard from for this long (seconds)
CLIENT_MEMBER_MAX_AGE = 300.0
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

NO_ARI_MESSAGE = (
    "no Asterisk configured: set ari_url (flag --ari-url, environment ARI_HTTP_URL, or [ari] ari_url in "
    "the config file) to the ARI base URL, e.g. http://127.0.0.1:8088/ari, with ari_username/ari_password. "
    "To try ariproxy without an Asterisk, run the demo: `make run`, or `ari-proxy --embedded` "
    "(a simulated Asterisk and a bundled nats-server, on loopback).")


def _host(url):
    try:
        return urlsplit(url.split(",")[0].strip()).hostname or ""
    except ValueError:
        return ""


def config_warnings(cfg, dev_log="/dev/log"):
    """Human-readable warnings about settings that are valid but may surprise an operator."""
    v, src = cfg.values, cfg.sources
    out = []
    if v["embedded"]:
        out.append("embedded is on (%s): a SIMULATED Asterisk is served, not a real one; for trying things "
                   "out only" % src["embedded"])
    elif v["ari_url"] is None:
        out.append("ari_url is not set: the daemon will refuse to start (%s)" % NO_ARI_MESSAGE)
    else:
        if v["ari_password"] == "asterisk" and _host(v["ari_url"]) not in _LOOPBACK_HOSTS:
            out.append("ari_password is the sample password 'asterisk' (%s) for a non-local Asterisk at %s"
                       % (src["ari_password"], mask_url(v["ari_url"])))
        if v["ari_url"].startswith("http://") and _host(v["ari_url"]) not in _LOOPBACK_HOSTS:
            out.append("ari_url %s is plain http to another host: the ARI password crosses the network "
                       "in clear" % mask_url(v["ari_url"]))
    if v["nats_url"] is None and not v["embedded"]:
        out.append("nats_url is not set: using %s (nats.go's default); set it to your NATS cluster"
                   % DEFAULT_NATS_URL)
    if v["prefix"] != "ari.":
        out.append("prefix is %r (%s): Go ari-proxy servers and clients always use 'ari.' and will not "
                   "see this server" % (v["prefix"], src["prefix"]))
    if v["announce_interval"] > CLIENT_MEMBER_MAX_AGE:
        out.append("announce_interval %gs (%s) is longer than the %gs after which clients forget a server"
                   % (v["announce_interval"], src["announce_interval"], CLIENT_MEMBER_MAX_AGE))
    if v["log_level"] == "debug":
        out.append("log_level is debug (%s): every request is logged" % src["log_level"])
    if cfg.daemon and not v["log_file"] and not os.path.exists(dev_log):
        out.append("--daemon without log_file and no syslog socket (%s): logs go to a fallback file "
                   "(printed at start)" % dev_log)
    if v["syslog"] and not os.path.exists(dev_log):
        out.append("syslog is on but %s does not exist (a container?): syslog records may go nowhere"
                   % dev_log)
    if v["max_concurrent"] > 10000:
        out.append("max_concurrent %d (%s) is very high: each request in flight holds a greenlet and a "
                   "socket" % (v["max_concurrent"], src["max_concurrent"]))
    return out


# -- sources -------------------------------------------------------------

def build_parser(prog="ari-proxy"):
    """The command-line parser; option flags default to None so unset flags do not override."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Asterisk ARI <-> NATS proxy server (ari-proxy v5 compatible).",
        epilog="Precedence: built-in defaults < INI file < environment < flags. "
               "An ARI URL is required; --embedded (or --demo, what `make run` does) serves a "
               "simulated Asterisk and a bundled nats-server instead, for trying ariproxy out.")
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="INI file (default: $ARIPROXY_CONFIG, else the first of %s that exists)"
                        % ", ".join(DEFAULT_CONFIG_PATHS))
    parser.add_argument("--no-config", action="store_true", help="read no INI file")
    parser.add_argument("--check-config", action="store_true",
                        help="print the effective configuration (secrets masked) and exit")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-d", "--daemon", action="store_true", help="detach into the background")
    mode.add_argument("-f", "--foreground", action="store_true",
                      help="stay in the foreground (systemd, containers; the default)")
    parser.add_argument("-v", "--verbose", action="store_true", help="same as --log-level debug")
    parser.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    parser.add_argument("--ping", action="store_true",
                        help="ask every server on NATS to announce itself, print the announcements and exit")
    for option in OPTIONS:
        flags = [option.flag] + list(option.aliases) + ([option.short] if option.short else [])
        if option.type is bool:
            parser.add_argument(*flags, dest=option.key, action="store_const", const=True,
                                default=None, help=option.help)
            parser.add_argument("--no-" + option.flag[2:], dest=option.key, action="store_const",
                                const=False, help=argparse.SUPPRESS)
        else:
            parser.add_argument(*flags, dest=option.key, default=None, metavar=option.metavar,
                                choices=option.choices, help=option.help)
    return parser


def _config_file_path(args, environ, search_paths):
    if args.no_config:
        return None, False
    if args.config:
        return args.config, True
    if environ.get("ARIPROXY_CONFIG"):
        return environ["ARIPROXY_CONFIG"], True
    for path in search_paths:
        path = os.path.expanduser(path)
        if os.path.isfile(path):
            return path, False
    return None, False


def _read_file(path):
    """{key: (text, source)} from an INI file; unknown sections/keys are errors (typos should not pass)."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except OSError as e:
        raise ConfigError("cannot read config file %s: %s" % (path, e.strerror or e)) from None
    except configparser.Error as e:
        raise ConfigError("config file %s: %s" % (path, e)) from None
    found = {}
    for section in parser.sections():
        if section not in SECTIONS:
            raise ConfigError("config file %s: unknown section [%s] (known: %s)"
                              % (path, section, ", ".join(SECTIONS)))
        for key, text in parser.items(section):
            option = OPTIONS_BY_KEY.get(key)
            if option is None or option.section != section:
                known = ", ".join(o.key for o in OPTIONS if o.section == section)
                raise ConfigError("config file %s: unknown option %r in [%s] (known: %s)"
                                  % (path, key, section, known))
            found[key] = (text, "file %s" % path)
    return found


def _read_env(environ):
    found = {}
    for option in OPTIONS:
        for name in option.env:
            if environ.get(name, "") != "":
                found[option.key] = (environ[name], "env %s" % name)
                break
    if "nats_url" not in found and environ.get("NATS_SERVICE_HOST"):
        # Kubernetes service discovery, as the Go server reads it
        url = "nats://%s:%s" % (environ["NATS_SERVICE_HOST"], environ.get("NATS_SERVICE_PORT_CLIENT") or "4222")
        found["nats_url"] = (url, "env NATS_SERVICE_HOST")
    if "log_level" not in found and environ.get("VERBOSE", "").strip().lower() in _TRUE:
        found["log_level"] = ("debug", "env VERBOSE")
    return found


def load_config(argv=None, environ=None, search_paths=DEFAULT_CONFIG_PATHS, args=None):
    """Parse ``argv`` (default: none), merge all sources, validate; returns a :class:`Config`.

    ``environ`` defaults to ``os.environ``.  Raises :class:`ConfigError`;
    argparse's own errors exit with status 2 as usual.
    """
    environ = os.environ if environ is None else environ
    if args is None:
        args = build_parser().parse_args([] if argv is None else argv)
    values = {o.key: o.default for o in OPTIONS}
    sources = {o.key: "default" for o in OPTIONS}

    path, required = _config_file_path(args, environ, search_paths)
    if path is not None and not required and not os.path.isfile(path):
        path = None
    layers = [_read_file(path)] if path else []
    layers.append(_read_env(environ))
    flags = {}
    for option in OPTIONS:
        raw = getattr(args, option.key, None)
        if raw is not None:
            flags[option.key] = (raw, "flag %s" % option.flag)
    if getattr(args, "verbose", False) and "log_level" not in flags:
        flags["log_level"] = ("debug", "flag --verbose")
    layers.append(flags)

    for layer in layers:
        for key, (raw, source) in layer.items():
            option = OPTIONS_BY_KEY[key]
            value = _convert(option, raw, source)
            if value is None and option.default is not None:
                continue   # an empty string does not unset an option that has a default
            values[key] = value
            sources[key] = source

    if values["embedded"] and sources["application"] == "default":
        values["application"] = EMBEDDED_APPLICATION    # what the README's client example uses
        sources["application"] = "default (embedded)"
    cfg = Config(values, sources, config_path=path,
                 daemon=bool(getattr(args, "daemon", False)),
                 foreground=bool(getattr(args, "foreground", False)))
    validate(cfg)
    return cfg
