# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kubeadm's discovery checks, against a real TLS server on 127.0.0.1 that serves a
cluster-info ConfigMap signed as the bootstrap signer signs it. The JWS is checked against the
upstream test vectors of k8s.io/cluster-bootstrap and against signatures computed here with
hmac directly (not with the code under test)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.server
import ipaddress
import json
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.edge.cluster.plugins.module_utils import _discovery as d

TOKEN_ID, TOKEN_SECRET = 'abcdef', '0123456789abcdef'


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def sign(content, token_id, secret, header=None):
    """A detached JWS computed straight from RFC 7515 with hmac, independent of _discovery."""
    header = header or b64url(('{"alg":"HS256","kid":"%s"}' % token_id).encode())
    signing_input = ('%s.%s' % (header, b64url(content.encode()))).encode()
    return header + '..' + b64url(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())


# ---------------------------------------------------------------- JWS

# k8s.io/cluster-bootstrap/token/jws/jws_test.go: content, secret, id and expected signatures.
UPSTREAM_CONTENT = 'Hello from the other side. I must have called a thousand times.'
UPSTREAM_SECRET = 'my voice is my passcode'
UPSTREAM_ID = 'joshua'
UPSTREAM_SIG = 'eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8'
UPSTREAM_EMPTY = 'eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk'


@pytest.mark.parametrize('content, expected', [(UPSTREAM_CONTENT, UPSTREAM_SIG), ('', UPSTREAM_EMPTY)])
def test_upstream_vectors(content, expected):
    assert d.compute_detached_jws(content, UPSTREAM_ID, UPSTREAM_SECRET) == expected
    d.verify_detached_jws(expected, content, UPSTREAM_ID, UPSTREAM_SECRET)


@pytest.mark.parametrize('content', ['apiVersion: v1\nkind: Config\n', 'üñí\n' * 50])
def test_independent_vector(content):
    signature = sign(content, TOKEN_ID, TOKEN_SECRET)
    assert d.compute_detached_jws(content, TOKEN_ID, TOKEN_SECRET) == signature
    d.verify_detached_jws(signature, content, TOKEN_ID, TOKEN_SECRET)


def test_a_header_serialised_differently_still_verifies():
    header = b64url(b'{"kid": "abcdef", "alg": "HS256"}')
    d.verify_detached_jws(sign('x', TOKEN_ID, TOKEN_SECRET, header), 'x', TOKEN_ID, TOKEN_SECRET)


@pytest.mark.parametrize('signature, content, secret, message', [
    (sign('x', TOKEN_ID, TOKEN_SECRET), 'x', 'zzzzzzzzzzzzzzzz', 'token secret does not match'),
    (sign('x', TOKEN_ID, TOKEN_SECRET), 'y', TOKEN_SECRET, 'token secret does not match'),
    (sign('x', TOKEN_ID, TOKEN_SECRET, b64url(b'{"alg":"none","kid":"abcdef"}')), 'x',
     TOKEN_SECRET, 'is not HS256'),
    (sign('x', TOKEN_ID, TOKEN_SECRET, b64url(b'{"alg":"HS256","kid":"other1"}')), 'x',
     TOKEN_SECRET, "names key 'other1'"),
    ('abc.def.ghi', 'x', TOKEN_SECRET, 'not a detached JWS'),
    ('!!!..abc', 'x', TOKEN_SECRET, 'cannot be decoded'),
    ('', 'x', TOKEN_SECRET, 'not a detached JWS'),
])
def test_bad_signatures_fail(signature, content, secret, message):
    with pytest.raises(d.DiscoveryError, match=message) as caught:
        d.verify_detached_jws(signature, content, TOKEN_ID, secret)
    assert caught.value.kind == 'bad_signature'
    assert secret not in caught.value.msg


# ---------------------------------------------------------------- PKI for the test server

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Pki:
    def __init__(self, tmp, sans=('127.0.0.1',)):
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = (x509.CertificateBuilder().subject_name(_name('kubernetes'))
                   .issuer_name(_name('kubernetes')).public_key(self.ca_key.public_key())
                   .serial_number(1).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(self.ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.IPAddress(ipaddress.ip_address(s)) if s[0].isdigit() else x509.DNSName(s)
                 for s in sans]
        cert = (x509.CertificateBuilder().subject_name(_name('kube-apiserver'))
                .issuer_name(self.ca.subject).public_key(key.public_key()).serial_number(2)
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        self.cert_file = tmp / 'apiserver.crt'
        self.key_file = tmp / 'apiserver.key'
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                    serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        self.ca_pem = self.ca.public_bytes(serialization.Encoding.PEM).decode('ascii')
        spki = self.ca.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.ca_hash = 'sha256:' + hashlib.sha256(spki).hexdigest()


def kubeconfig(ca_pem, server):
    return ('apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n'
            '    server: %s\n  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\n'
            'preferences: {}\nusers: null\n'
            % (base64.b64encode(ca_pem.encode()).decode(), server))


class ApiServer:
    """An HTTPS server on 127.0.0.1 answering GET cluster-info like kube-apiserver."""

    def __init__(self, pki, tokens=((TOKEN_ID, TOKEN_SECRET),)):
        self.status = 200
        self.requests = 0
        self.mutate_second = False
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                owner.requests += 1
                content = owner.content
                if owner.mutate_second and owner.requests > 1:
                    content += '# changed\n'
                body = json.dumps(owner.configmap(content)).encode()
                if self.path != d.CLUSTER_INFO_PATH:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(owner.status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pki.cert_file), str(pki.key_file))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.content = kubeconfig(pki.ca_pem, 'https://127.0.0.1:%d' % self.port)
        self.tokens = list(tokens)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def configmap(self, content):
        data = {'kubeconfig': content}
        for token_id, secret in self.tokens:
            data[d.JWS_PREFIX + token_id] = sign(self.content, token_id, secret)
        return {'apiVersion': 'v1', 'kind': 'ConfigMap',
                'metadata': {'name': 'cluster-info', 'namespace': 'kube-public'}, 'data': data}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


@pytest.fixture
def server(pki):
    api = ApiServer(pki)
    yield api
    api.close()


def discover(server, pins, token_id=TOKEN_ID, secret=TOKEN_SECRET, timeout=5.0):
    return d.discover('127.0.0.1', server.port, token_id, secret, pins, timeout=timeout)


def test_discovery_succeeds_and_pins(server, pki, openssl_hash):
    assert pki.ca_hash == openssl_hash(pki.ca_pem)  # the pin is what kubeadm's docs compute
    found = discover(server, ['sha256:' + '0' * 64, pki.ca_hash])
    assert found == {'ca_cert_hash': pki.ca_hash, 'server': 'https://127.0.0.1:%d' % server.port}
    assert server.requests == 2  # insecure first contact, then verified against the pinned CA


def test_wrong_ca_hash(server, pki):
    with pytest.raises(d.DiscoveryError) as caught:
        discover(server, ['sha256:' + '0' * 64])
    assert caught.value.kind == 'ca_mismatch'
    assert pki.ca_hash in caught.value.msg
    assert server.requests == 1


def test_unknown_or_expired_token(server, pki):
    with pytest.raises(d.DiscoveryError) as caught:
        discover(server, [pki.ca_hash], token_id='zzzzzz')
    assert caught.value.kind == 'unknown_token'
    assert 'zzzzzz is unknown to the cluster or has expired' in caught.value.msg
    assert 'signed for abcdef' in caught.value.msg


def test_wrong_token_secret(server, pki):
    with pytest.raises(d.DiscoveryError) as caught:
        discover(server, [pki.ca_hash], secret='ffffffffffffffff')
    assert caught.value.kind == 'bad_signature'
    assert 'ffffffffffffffff' not in caught.value.msg


def test_cluster_info_changing_between_requests(server, pki):
    server.mutate_second = True
    with pytest.raises(d.DiscoveryError) as caught:
        discover(server, [pki.ca_hash])
    assert caught.value.kind == 'changed'


@pytest.mark.parametrize('status, kind', [(403, 'forbidden'), (401, 'forbidden'),
                                          (404, 'not_found'), (500, 'bad_response')])
def test_http_errors(server, pki, status, kind):
    server.status = status
    with pytest.raises(d.DiscoveryError) as caught:
        discover(server, [pki.ca_hash])
    assert caught.value.kind == kind


def test_name_not_in_the_serving_certificate(tmp_path):
    pki = Pki(tmp_path, sans=('other.edge.test',))
    api = ApiServer(pki)
    try:
        with pytest.raises(d.DiscoveryError) as caught:
            discover(api, [pki.ca_hash])
    finally:
        api.close()
    assert caught.value.kind == 'tls'
    assert 'apiserver_cert_extra_sans' in caught.value.msg


def test_closed_port_is_unreachable():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(d.DiscoveryError) as caught:
        d.discover('127.0.0.1', port, TOKEN_ID, TOKEN_SECRET, ['sha256:' + '0' * 64], timeout=2)
    assert caught.value.kind == 'unreachable'
    assert '127.0.0.1:%d is unreachable' % port in caught.value.msg


def test_silent_server_times_out_in_tls():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    try:
        with pytest.raises(d.DiscoveryError) as caught:
            d.discover('127.0.0.1', listener.getsockname()[1], TOKEN_ID, TOKEN_SECRET,
                       ['sha256:' + '0' * 64], timeout=0.5)
    finally:
        listener.close()
    assert caught.value.kind == 'tls'
    assert 'within 0.5s' in caught.value.msg


def test_plain_http_is_not_an_api_server():
    class Plain(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Plain)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(d.DiscoveryError) as caught:
            d.discover('127.0.0.1', httpd.server_address[1], TOKEN_ID, TOKEN_SECRET,
                       ['sha256:' + '0' * 64], timeout=2)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert caught.value.kind == 'tls'


# ---------------------------------------------------------------- content parsing

@pytest.mark.parametrize('body, message', [
    (b'<html>', 'not JSON'),
    (b'{"kind": "Status"}', 'did not return the cluster-info'),
    (b'{"kind": "ConfigMap", "data": {}}', 'has no kubeconfig'),
])
def test_bad_cluster_info(body, message):
    with pytest.raises(d.DiscoveryError, match=message):
        d.parse_cluster_info(body)


@pytest.mark.parametrize('with_yaml', [True, False])
def test_kubeconfig_ca_and_server(pki, monkeypatch, with_yaml):
    if not with_yaml:
        import builtins
        real_import = builtins.__import__

        def no_yaml(name, *args, **kwargs):
            if name == 'yaml':
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, '__import__', no_yaml)
    pem, server = d.kubeconfig_ca_and_server(kubeconfig(pki.ca_pem, 'https://10.213.0.10:6443'))
    assert pem == pki.ca_pem and server == 'https://10.213.0.10:6443'


def test_kubeconfig_without_ca():
    with pytest.raises(d.DiscoveryError, match='no certificate-authority-data'):
        d.kubeconfig_ca_and_server('apiVersion: v1\nclusters: []\n')


def test_ca_bundle_pins_any_ca(pki, certs):
    other_ca = certs.cert('p384', common_name='other-ca')
    leaf = certs.cert('p256', common_name='leaf', ca=False)
    bundle = other_ca + leaf + pki.ca_pem
    hashes_found = d.ca_hashes_of(bundle)
    assert pki.ca_hash in hashes_found and len(hashes_found) == 2
    assert d.check_pin(bundle, [pki.ca_hash]) == pki.ca_hash
    with pytest.raises(d.DiscoveryError, match='holds no CA certificate'):
        d.ca_hashes_of(leaf)


# ---------------------------------------------------------------- retries

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_new_token_is_waited_for_until_signed(server, pki):
    """The bootstrap signer adds the signature a little after the token is made."""
    clock = Clock()
    tokens = list(server.tokens)
    server.tokens = []

    def sleep(seconds):
        clock.sleep(seconds)
        if clock.now >= 6:
            server.tokens = tokens

    found = d.discover_with_retry('127.0.0.1', server.port, TOKEN_ID, TOKEN_SECRET, [pki.ca_hash],
                                  timeout=5, wait=60, sleep=sleep, clock=clock)
    assert found['ca_cert_hash'] == pki.ca_hash
    assert clock.now == 6


def test_an_unknown_token_fails_after_the_wait(server, pki):
    clock = Clock()
    with pytest.raises(d.DiscoveryError) as caught:
        d.discover_with_retry('127.0.0.1', server.port, 'zzzzzz', TOKEN_SECRET, [pki.ca_hash],
                              timeout=5, wait=10, sleep=clock.sleep, clock=clock)
    assert caught.value.kind == 'unknown_token'
    assert 'attempts over 10s' in caught.value.msg
    assert clock.now == 10


def test_a_wrong_pin_fails_at_once(server, pki):
    clock = Clock()
    with pytest.raises(d.DiscoveryError) as caught:
        d.discover_with_retry('127.0.0.1', server.port, TOKEN_ID, TOKEN_SECRET, ['sha256:' + '0' * 64],
                              timeout=5, wait=60, sleep=clock.sleep, clock=clock)
    assert caught.value.kind == 'ca_mismatch' and clock.now == 0
    assert 'attempts' not in caught.value.msg
