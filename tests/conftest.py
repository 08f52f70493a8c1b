# gevent first: every module under test is used monkey-patched, as the daemon and apps use it.
from gevent import monkey

monkey.patch_all()

pytest_plugins = [
    "tests.support.shared",
    "tests.support.nats",
]
