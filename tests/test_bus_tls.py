"""ariproxy.bus over TLS (pynats2's TLS wrapping) against a real nats-server with a throw-away certificate."""
import shutil
import subprocess

import pytest

from ariproxy.bus import Bus, ConnectFailed


@pytest.fixture
def tls_server(tmp_path, nats_factory):
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    server = nats_factory(extra_args=["--tls", "--tlscert", cert, "--tlskey", key])
    return server, cert


def test_tls_connection_with_verified_certificate(tls_server):
    server, cert = tls_server
    bus = Bus("tls://127.0.0.1:%d" % server.port, tls_cacert=cert)
    try:
        bus.connect()
        bus.subscribe("echo", lambda msg: msg.respond(msg.data))
        bus.flush()
        assert bus.request("echo", b"secret stuff", timeout=5).data == b"secret stuff"
        assert bus.connected_url == "tls://127.0.0.1:%d" % server.port
    finally:
        bus.close()


def test_tls_refusals_are_clear(tls_server):
    server, cert = tls_server
    with pytest.raises(ConnectFailed, match="requires TLS"):
        Bus("nats://127.0.0.1:%d" % server.port).connect()
    with pytest.raises(ConnectFailed, match="(?i)certificate"):
        Bus("tls://127.0.0.1:%d" % server.port, connect_timeout=2).connect()  # unknown CA: verified by default
