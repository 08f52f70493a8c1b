# gevent first: every module under test is used monkey-patched, as the daemon and apps use it.
from gevent import monkey

monkey.patch_all()

# Fixture modules of tests/support: the shared folder, nats-server, the simulator, an in-process proxy;
# and the suite-wide secret check (a test whose output shows a credential of tests/support/secrets.py fails).
pytest_plugins = [
    "tests.support.secretcheck",
    "tests.support.shared",
    "tests.support.nats",
    "tests.support.sim",
    "tests.support.proxy",
]
