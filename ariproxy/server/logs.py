"""Log record context (node, application) and the JSON lines format of the daemon's logs.

:class:`LogContext` is a logging filter that gives every record ``node`` and
``application`` (the server's, once known; ``-`` before), unless the record
names its own (``extra={"node": ...}``).  Plain lines show them at the end
(``... [app=demo node=02:fc:00:00:00:01]``); :class:`JsonFormatter` writes one
JSON object per line::

    {"time": "2026-12-02T00:40:01.123+00:00", "level": "WARNING", "logger": "ariproxy.server",
     "message": "...", "node": "02:fc:00:00:00:01", "application": "demo", "subject": "ari.get.demo"}

with, besides those, every field the call passed in ``extra=`` (the request's
subject, kind and key, the event's type, the other instance of a duplicate
node, ...) and ``exception`` with the traceback when there is one.  Values
that are not JSON are written as their ``repr``.
"""
import datetime
import logging

from ariproxy import jsonutil

__all__ = ["LogContext", "JsonFormatter", "PLAIN_SUFFIX", "LOG_FORMATS"]

LOG_FORMATS = ("plain", "json")
#: appended to the plain formats
PLAIN_SUFFIX = " [app=%(application)s node=%(node)s]"

# Attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime",
                                                                                  "node", "application"}


class LogContext(logging.Filter):
    """Adds ``node`` and ``application`` to every record; ``server`` (set later) supplies the node."""

    def __init__(self, application=None, node=None, server=None):
        super().__init__()
        self.application = application
        self.node = node
        self.server = server

    def filter(self, record):
        server = self.server
        if not hasattr(record, "node"):
            node = getattr(server, "node", None) if server is not None else None
            record.node = node or self.node or "-"
        if not hasattr(record, "application"):
            app = getattr(server, "application", None) if server is not None else None
            record.application = app or self.application or "-"
        return True


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring); never raises on odd ``extra`` values."""

    def format(self, record):
        out = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "node": getattr(record, "node", None),
            "application": getattr(record, "application", None),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_") and name not in out:
                out[name] = _plain(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        try:
            return jsonutil.dumps(out).decode("utf-8")
        except (TypeError, ValueError):
            return jsonutil.dumps({k: v if isinstance(v, (str, type(None))) else repr(v)
                                   for k, v in out.items()}).decode("utf-8")
