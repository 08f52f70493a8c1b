"""The ari-proxy server: one Asterisk application served over NATS.

    from ariproxy.server import Server
    srv = Server(ari_url="http://127.0.0.1:8088/ari", application="demo", nats_url="nats://127.0.0.1:4222")
    srv.start(); srv.wait_ready(10)     # connects in the background
    ...
    srv.stop()                          # graceful: in-flight requests are answered

``Server.run()`` blocks until stopped (SIGTERM/SIGINT) and returns the exit
status.  The daemon (``bin/ari-proxy``: config, CLI, pidfile, logging) is
``ariproxy.server.daemon``.  Use with gevent monkey patching.
"""
__all__ = ["Server", "ARI_DOWN", "DialogBindings"]


def __getattr__(name):
    # Lazy: the ``ari-proxy`` console script imports this package before its
    # daemon module has monkey-patched; importing core here would pull in
    # requests (and ssl) unpatched.
    if name in ("Server", "ARI_DOWN"):
        from ariproxy.server import core
        return getattr(core, name)
    if name == "DialogBindings":
        from ariproxy.server.dialogs import DialogBindings
        return DialogBindings
    raise AttributeError("module 'ariproxy.server' has no attribute %r" % name)
