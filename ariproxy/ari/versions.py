"""What an Asterisk version can do (no I/O)."""
import re

__all__ = ["websocket_rest_supported"]

# First releases of each branch that answer RESTRequest messages on the events websocket.
_WS_REST_SINCE = {20: (20, 14), 21: (21, 9), 22: (22, 4)}
_VERSION = re.compile(r"^(\d+)\.(\d+)")


def websocket_rest_supported(version):
    """True/False from an Asterisk version string (``22.10.1``); None when it cannot be told."""
    m = _VERSION.match(str(version or "").strip())
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    if major >= 23:
        return True
    since = _WS_REST_SINCE.get(major)
    if since is None:
        return False
    return (major, minor) >= since
