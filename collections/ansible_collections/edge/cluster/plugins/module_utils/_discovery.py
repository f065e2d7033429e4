# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The checks `kubeadm join` makes in its discovery phase, done first and in Python so a
wrong token, hash or endpoint fails before the node is touched:

1. TCP and TLS to the endpoint within a timeout;
2. GET /api/v1/namespaces/kube-public/configmaps/cluster-info anonymously and without
   trusting the server yet (kubeadm does the same: nothing is trusted before the pin);
3. the ConfigMap holds jws-kubeconfig-<token id>: the bootstrap signer signs cluster-info
   with every valid signing token, so its absence means an unknown or expired token;
4. that detached JWS (HS256, key = token secret, payload = the kubeconfig text) verifies;
5. the CA in that kubeconfig matches one of the pinned hashes (edge.cluster's CA-hash helper);
6. a second request, now verifying TLS against that CA and the endpoint's name, returns the
   same kubeconfig (kubeadm's "validate TLS against the pinned public key").

Standard library only (ssl, http.client, hmac): nodes may have nothing but python3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import json
import re
import socket
import ssl
import time

from ansible_collections.edge.cluster.plugins.module_utils._ca_cert_hash import (
    CACertHashError,
    compute_ca_cert_hash,
)
from ansible_collections.edge.cluster.plugins.module_utils._der import PEMError, split_pem
from ansible_collections.edge.cluster.plugins.module_utils._yaml import optional_yaml

CLUSTER_INFO_PATH = '/api/v1/namespaces/kube-public/configmaps/cluster-info'
JWS_PREFIX = 'jws-kubeconfig-'
KUBECONFIG_KEY = 'kubeconfig'

_CA_DATA_RE = re.compile(r'certificate-authority-data:\s*["\']?([A-Za-z0-9+/=]+)')
_SERVER_RE = re.compile(r'^\s*server:\s*["\']?([^"\'\s]+)', re.MULTILINE)


class DiscoveryError(Exception):
    """A discovery check failed. kind is one of: unreachable, tls, forbidden, not_found,
    bad_response, unknown_token, bad_signature, ca_mismatch, changed. The message never holds
    the token secret."""

    def __init__(self, kind, msg):
        super().__init__(msg)
        self.kind = kind
        self.msg = msg


# ---------------------------------------------------------------- JWS

def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def b64url_decode(text):
    if not isinstance(text, str) or not re.match(r'^[A-Za-z0-9_-]*\Z', text):
        raise ValueError('not base64url')
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def compute_detached_jws(content, token_id, token_secret):
    """kubeadm's signature (k8s.io/cluster-bootstrap/token/jws.ComputeDetachedSignature):
    compact JWS with protected header {"alg":"HS256","kid":<id>}, payload removed."""
    header = b64url_encode(json.dumps({'alg': 'HS256', 'kid': token_id},
                                      separators=(',', ':'), sort_keys=True).encode('utf-8'))
    signing_input = header + '.' + b64url_encode(content.encode('utf-8'))
    digest = hmac.new(token_secret.encode('utf-8'), signing_input.encode('ascii'),
                      hashlib.sha256).digest()
    return header + '..' + b64url_encode(digest)


def verify_detached_jws(detached, content, token_id, token_secret):
    """Raise DiscoveryError unless detached is a valid HS256 signature of content by the token.

    The header is read from the signature itself (alg must be HS256, kid the token id), the
    MAC is recomputed over "<header>.<base64url(content)>" and compared in constant time.
    """
    parts = (detached or '').split('.')
    if len(parts) != 3 or parts[1] != '' or not parts[0] or not parts[2]:
        raise DiscoveryError('bad_signature', 'the cluster-info signature for token id %s is not '
                             'a detached JWS ("header..signature")' % token_id)
    try:
        header = json.loads(b64url_decode(parts[0]).decode('utf-8'))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise DiscoveryError('bad_signature', 'the cluster-info signature for token id %s cannot '
                             'be decoded' % token_id)
    if not isinstance(header, dict) or header.get('alg') != 'HS256':
        raise DiscoveryError('bad_signature', 'the cluster-info signature for token id %s is not '
                             'HS256 (header %r)' % (token_id, header))
    if header.get('kid') not in (None, token_id):
        raise DiscoveryError('bad_signature', 'the cluster-info signature names key %r, not token '
                             'id %s' % (header.get('kid'), token_id))
    signing_input = parts[0] + '.' + b64url_encode(content.encode('utf-8'))
    expected = hmac.new(token_secret.encode('utf-8'), signing_input.encode('ascii'),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise DiscoveryError(
            'bad_signature', 'the token secret does not match: cluster-info is signed for token '
                             'id %s, but not with the secret given. Use the full token '
                             '<id>.<secret> the control plane issued (edge.cluster.bootstrap_token)'
                             % token_id)


# ---------------------------------------------------------------- cluster-info content

def parse_cluster_info(body):
    """data of the cluster-info ConfigMap from the API's JSON answer."""
    try:
        obj = json.loads(body.decode('utf-8') if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError):
        raise DiscoveryError('bad_response', 'the endpoint answered %s with something that is '
                             'not JSON: is it a Kubernetes API server?' % CLUSTER_INFO_PATH)
    if not isinstance(obj, dict) or obj.get('kind') != 'ConfigMap' or \
            not isinstance(obj.get('data'), dict):
        raise DiscoveryError('bad_response', 'the endpoint did not return the cluster-info '
                             'ConfigMap: is it a Kubernetes API server?')
    data = obj['data']
    if not isinstance(data.get(KUBECONFIG_KEY), str):
        raise DiscoveryError('bad_response', 'cluster-info has no kubeconfig: the control plane '
                             'was not set up by kubeadm init (bootstrap-token phase)')
    return data


def kubeconfig_ca_and_server(text):
    """(CA PEM text, server URL) of the kubeconfig in cluster-info (one cluster, as kubeadm
    writes it). PyYAML is used when the node has it; otherwise the two keys are read directly."""
    ca_data = server = None
    yaml = optional_yaml()
    if yaml is not None:
        try:
            doc = yaml.safe_load(text)
            cluster = doc['clusters'][0]['cluster']
            ca_data, server = cluster.get('certificate-authority-data'), cluster.get('server')
        except Exception:  # pylint: disable=broad-exception-caught
            ca_data = server = None
    if ca_data is None:
        match = _CA_DATA_RE.search(text)
        ca_data = match.group(1) if match else None
        match = _SERVER_RE.search(text)
        server = match.group(1) if match else server
    if not ca_data:
        raise DiscoveryError('bad_response', 'the kubeconfig in cluster-info has no '
                             'certificate-authority-data')
    try:
        pem = base64.b64decode(ca_data, validate=True).decode('ascii')
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise DiscoveryError('bad_response', 'certificate-authority-data in cluster-info is not '
                             'base64 PEM')
    return pem, server


def _pem(der):
    body = base64.b64encode(der).decode('ascii')
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % '\n'.join(lines)


def ca_hashes_of(pem):
    """CA certificate hashes of every CA certificate in a PEM bundle (kubeadm checks any)."""
    try:
        blocks = split_pem(pem)
    except PEMError as exc:
        raise DiscoveryError('bad_response', 'the CA in cluster-info is not PEM: %s' % exc)
    hashes = []
    for block in blocks:
        if block.label != 'CERTIFICATE':
            continue
        try:
            hashes.append(compute_ca_cert_hash(_pem(block.der)).hash)
        except CACertHashError:
            continue  # not a CA certificate: kubeadm cannot pin it either
    if not hashes:
        raise DiscoveryError('bad_response', 'cluster-info holds no CA certificate')
    return hashes


def check_pin(pem, pins):
    """The matching hash, or DiscoveryError('ca_mismatch') naming what the cluster has."""
    found = ca_hashes_of(pem)
    for value in found:
        if value in pins:
            return value
    raise DiscoveryError(
        'ca_mismatch', 'the cluster CA does not match ca_cert_hashes: the endpoint serves a CA '
                       'with hash %s, expected %s. Take the hash from the control plane '
                       '(edge.cluster.ca_cert_hash on /etc/kubernetes/pki/ca.crt); if they '
                       'really differ, the endpoint is not your cluster'
        % (', '.join(found), ', '.join(pins)))


# ---------------------------------------------------------------- HTTPS

def _context(ca_pem=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem is None:
        # First contact, as kubeadm: nothing is trusted before the pin and signature checks.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.load_verify_locations(cadata=ca_pem)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def https_get(host, port, path, timeout, ca_pem=None):
    """(status, body bytes) of GET https://host:port/path; DiscoveryError on network/TLS trouble."""
    where = '%s:%d' % (host, port) if ':' not in host else '[%s]:%d' % (host, port)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise DiscoveryError('unreachable', 'api_server_endpoint %s did not accept a TCP '
                             'connection within %ss: check the address, the port and any '
                             'firewall between this node and the control plane' % (where, timeout))
    except OSError as exc:
        raise DiscoveryError('unreachable', 'api_server_endpoint %s is unreachable: %s. Check '
                             'the address and port, and that the API server runs'
                             % (where, exc.strerror or exc))
    try:
        try:
            tls = _context(ca_pem).wrap_socket(sock, server_hostname=host)
        except ssl.CertificateError as exc:
            raise DiscoveryError('tls', 'the API server certificate at %s does not verify '
                                 'against the pinned cluster CA: %s. If the endpoint name is '
                                 'missing from the certificate, add it to '
                                 'apiserver_cert_extra_sans on the control plane'
                                 % (where, exc))
        except (ssl.SSLError, socket.timeout, OSError) as exc:
            raise DiscoveryError('tls', 'TLS handshake with %s failed within %ss: %s. Is it the '
                                 'API server port (6443 by default)?' % (where, timeout, exc))
        sock = tls
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = tls
        try:
            conn.request('GET', path, headers={'Accept': 'application/json',
                                               'User-Agent': 'edge.cluster/kubeadm_join'})
            response = conn.getresponse()
            return response.status, response.read(4 * 1024 * 1024)
        except (http.client.HTTPException, socket.timeout, OSError) as exc:
            raise DiscoveryError('unreachable', 'GET %s from %s failed: %s' % (path, where, exc))
        finally:
            conn.close()
    finally:
        sock.close()


def _cluster_info(host, port, timeout, ca_pem=None):
    status, body = https_get(host, port, CLUSTER_INFO_PATH, timeout, ca_pem)
    if status in (401, 403):
        raise DiscoveryError('forbidden', 'the API server refuses anonymous reads of '
                             'kube-public/cluster-info (HTTP %d); kubeadm join needs them: the '
                             'API server must allow anonymous auth and the kubeadm:bootstrap-'
                             'signer-clusterinfo RoleBinding must exist' % status)
    if status == 404:
        raise DiscoveryError('not_found', 'kube-public/cluster-info does not exist (HTTP 404): '
                             'the control plane was not made by kubeadm init, or its '
                             'bootstrap-token phase was skipped')
    if status != 200:
        raise DiscoveryError('bad_response', 'GET %s answered HTTP %d' % (CLUSTER_INFO_PATH, status))
    return parse_cluster_info(body)


def discover(host, port, token_id, token_secret, pins, timeout=10.0, fetch=None):
    """Run checks 1-6 (module docstring). Returns {'ca_cert_hash', 'server'} on success.

    fetch(host, port, timeout, ca_pem) -> cluster-info data; tests may replace it.
    """
    fetch = fetch or _cluster_info
    data = fetch(host, port, timeout, None)
    content = data[KUBECONFIG_KEY]
    signature = data.get(JWS_PREFIX + token_id)
    if not signature:
        known = sorted(key[len(JWS_PREFIX):] for key in data if key.startswith(JWS_PREFIX))
        raise DiscoveryError(
            'unknown_token', 'token id %s is unknown to the cluster or has expired (cluster-info '
                             'carries no signature for it; it is signed for %s). Create a fresh '
                             'token on the control plane with edge.cluster.bootstrap_token'
            % (token_id, ', '.join(known) if known else 'no token at all'))
    verify_detached_jws(signature, content, token_id, token_secret)
    ca_pem, server = kubeconfig_ca_and_server(content)
    matched = check_pin(ca_pem, pins)
    again = fetch(host, port, timeout, ca_pem)
    if again.get(KUBECONFIG_KEY) != content:
        raise DiscoveryError('changed', 'cluster-info changed between the first request and the '
                             'one verified against the pinned CA; run again')
    return {'ca_cert_hash': matched, 'server': server}


# Worth waiting for: the bootstrap signer adds a new token's signature to cluster-info a few
# seconds after the token is created, and an API server may be restarting. A wrong pin, a
# wrong secret or a refused anonymous read do not get better with time.
RETRYABLE = ('unknown_token', 'unreachable', 'changed')


def discover_with_retry(host, port, token_id, token_secret, pins, timeout=10.0, wait=60,
                        fetch=None, sleep=time.sleep, clock=time.monotonic, interval=3.0):
    """discover(), retried on RETRYABLE failures for up to wait seconds (kubeadm's own
    discovery keeps trying for minutes). The last error says how long it tried."""
    deadline = clock() + max(wait, 0)
    attempts = 0
    while True:
        attempts += 1
        try:
            return discover(host, port, token_id, token_secret, pins, timeout=timeout, fetch=fetch)
        except DiscoveryError as exc:
            left = deadline - clock()
            if exc.kind not in RETRYABLE or left <= 0:
                if attempts > 1:
                    exc.msg = '%s (after %d attempts over %ds)' % (exc.msg, attempts, wait)
                raise
            sleep(min(interval, left))
