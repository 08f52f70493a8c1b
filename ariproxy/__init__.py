"""ariproxy: Asterisk ARI over NATS.

The application must monkey-patch with gevent before importing anything that
opens sockets::

    from gevent import monkey; monkey.patch_all()
    import ariproxy
"""
__version__ = "0.1.0"
