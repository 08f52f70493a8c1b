"""The demo of ``make run`` / ``ari-proxy --embedded``: one call through the proxy, its events printed.

Once the embedded proxy serves, :func:`demo_call` connects a client to the
same NATS, originates ``Local/1000@default`` into the demo application and
plays the ``hello`` application on it (answer, play ``sound:hello-world``,
hang up), printing every event of the call as it arrives.  Then
:func:`next_steps` prints the commands to try against the running proxy.
Both write to stdout (the daemon's log goes to stderr) and block only the
calling greenlet.
"""
import os
import sys

from .jsonutil import mask_url

__all__ = ["demo_call", "next_steps", "DEMO_ENDPOINT", "DEMO_MEDIA"]

DEMO_ENDPOINT = "Local/1000@default"
DEMO_MEDIA = "sound:hello-world"


def _say(out, text):
    out.write(text + "\n")
    out.flush()


def demo_call(nats_url, application, prefix="ari.", out=None, endpoint=DEMO_ENDPOINT, media=DEMO_MEDIA,
              timeout=60.0):
    """Place the demo call and follow it to its end; returns the :class:`ariproxy.cli.CallResult`."""
    from .cli import Style, follow_call, format_event
    from .client import Client
    out = out or sys.stdout
    style = Style(out)
    _say(out, style("demo: calling %s into application %s through the proxy (hello: answer, play %s, "
                    "hang up); its events:" % (endpoint, application, media), "bold"))
    with Client(application=application, url=nats_url, prefix=prefix, timeout=5.0, name="ariproxy-demo") as client:
        result = follow_call(client, endpoint, play=media, answer=True, hangup=True, timeout=timeout,
                             on_event=lambda event: _say(out, "demo:   " + format_event(event, style)))
    _say(out, style("demo: the call %s (%d events)" % ("was answered, played and hung up" if result.outcome ==
                                                       "answered" else "ended: %s %s" % (result.outcome,
                                                                                        result.detail),
                                                       len(result.events)),
                    "green" if result.outcome == "answered" else "red"))
    return result


def _cli_command():
    """How to run the ``ariproxy`` command from here (the script beside ``ari-proxy``, else the module)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if os.path.basename(argv0) == "ari-proxy":
        beside = os.path.join(os.path.dirname(argv0), "ariproxy")
        if os.path.exists(beside):
            return os.path.relpath(beside) if not os.path.isabs(argv0) else beside
    return "%s -m ariproxy.cli" % (os.path.relpath(sys.executable) if sys.executable else "python3")


def next_steps(nats_url, application, node, out=None):
    """Print the commands that work against the running demo proxy."""
    out = out or sys.stdout
    cli = _cli_command()
    url = mask_url(nats_url)
    python = os.path.relpath(sys.executable) if sys.executable else "python3"
    lines = [
        "demo: serving application %s as node %s on NATS %s. In another terminal:" % (application, node, url),
        "  export NATS_URL=%s" % url,
        "  %s nodes          # every proxy on this NATS" % cli,
        "  %s events --app %s          # events as they happen" % (cli, application),
        "  %s call Local/1000@default --app %s --play sound:hello-world" % (cli, application),
        "  %s shell --app %s          # Python with a connected client" % (cli, application),
        "  %s examples/hello.py --app %s --call Local/1000@default" % (python, application),
        "demo: Ctrl-C stops the proxy, the simulator and the bundled NATS.",
    ]
    for line in lines:
        _say(out, line)
