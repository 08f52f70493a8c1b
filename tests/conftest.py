# gevent first: every module under test is used monkey-patched, as the daemon and apps use it.
from gevent import monkey

monkey.patch_all()

# Fixture modules of tests/support: the shared folder, nats-server, the simulator, an in-process proxy.
pytest_plugins = [
    "tests.support.shared",
    "tests.support.nats",
    "tests.support.sim",
    "tests.support.proxy",
]
