"""Where the team's shared folder (spec, recordings, protocol) lives.

CI has ``../shared`` beside the clone; a user's fresh clone does not.  Tests
that read it use the ``shared`` fixture, which skips with a reason naming the
folder (and the ARIPROXY_SHARED variable that can point at another copy).
"""
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("ARIPROXY_SHARED") or os.path.join(os.path.dirname(REPO), "shared")


def shared_path(*parts):
    """Path inside the shared folder; skips the calling test when it is missing."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip("needs %s (the team's shared folder beside the clone; "
                    "set ARIPROXY_SHARED to another copy)" % path)
    return path


@pytest.fixture(scope="session")
def shared():
    """The shared folder's path (skip when absent)."""
    return shared_path()
