# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The values kubeadm options take, checked before anything is built or run: Kubernetes
versions and the kubeadm API version they imply, node names, CIDRs, addresses, SANs,
host:port endpoints and CA certificate hashes. Each error names the option, the bad value and
the form expected.
"""

from __future__ import annotations

import ipaddress
import re

KUBEADM_V1BETA3 = 'kubeadm.k8s.io/v1beta3'
KUBEADM_V1BETA4 = 'kubeadm.k8s.io/v1beta4'
# v1beta3 arrived with kubeadm 1.22; v1beta4 is the default from 1.31 (extraArgs became lists).
MIN_VERSION = (1, 22)
V1BETA4_FROM = (1, 31)
DEFAULT_CRI_SOCKET = 'unix:///run/containerd/containerd.sock'
DEFAULT_BIND_PORT = 6443
_VERSION_RE = re.compile(r'^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?\Z')
_DNS1123_SUBDOMAIN_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z')
_DNS_NAME_RE = re.compile(r'^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\Z')
_HASH_RE = re.compile(r'^sha256:[0-9a-f]{64}\Z')


class KubeadmConfigError(ValueError):
    """Bad input for a kubeadm configuration; the message names the value and the fix."""


def parse_version(text, name='kubernetes_version'):
    """(major, minor, patch) of "v1.34.12", "1.34", "v1.35.0-rc.1"."""
    match = _VERSION_RE.match(str(text or '').strip())
    if not match:
        raise KubeadmConfigError('%s %r is not a Kubernetes version: write it like v1.34.12'
                                 % (name, text))
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def normalize_version(text, name='kubernetes_version'):
    """'1.34.12' -> 'v1.34.12' (kubeadm accepts both; the cluster stores what it was given)."""
    parse_version(text, name)
    text = str(text).strip()
    return text if text.startswith('v') else 'v' + text


def api_version_for(version):
    """kubeadm config apiVersion for a kubeadm/Kubernetes version (tuple or text)."""
    if not isinstance(version, tuple):
        version = parse_version(version)
    if version[:2] < MIN_VERSION:
        raise KubeadmConfigError(
            'Kubernetes %d.%d is older than this collection supports (kubeadm config v1beta3, '
            'from 1.22 on); use v1.22 or newer' % version[:2])
    return KUBEADM_V1BETA4 if version[:2] >= V1BETA4_FROM else KUBEADM_V1BETA3


def validate_node_name(name):
    if name is None:
        return None
    if len(name) > 253 or not _DNS1123_SUBDOMAIN_RE.match(name):
        raise KubeadmConfigError(
            'node_name %r is not a valid Node name: lower-case letters, digits, "-" and ".", '
            'starting and ending with a letter or digit (RFC 1123), e.g. edge-01' % (name,))
    return name


def validate_cidr(value, name):
    if value is None:
        return None
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise KubeadmConfigError('%s %r is not a network in CIDR form (%s); write it like '
                                 '10.96.0.0/12' % (name, value, exc))
    return value


def validate_cidrs(value, name):
    """A single CIDR or a dual-stack pair "v4,v6", as kubeadm accepts."""
    if value is None:
        return None
    for part in str(value).split(','):
        validate_cidr(part.strip(), name)
    return value


def validate_ip(value, name):
    if value is None:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise KubeadmConfigError('%s %r is not an IP address; give the address the API server '
                                 'listens on, e.g. 10.213.0.10' % (name, value))
    return value


def validate_san(value):
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not isinstance(value, str) or len(value) > 253 or not _DNS_NAME_RE.match(value):
        raise KubeadmConfigError(
            'apiserver_cert_extra_sans entry %r is neither an IP address nor a DNS name' % (value,))
    return value


def split_endpoint(value, name='endpoint', default_port=None):
    """("host", port) of "host:port", "[v6]:port", or a bare host when default_port is set."""
    if not isinstance(value, str) or not value.strip():
        raise KubeadmConfigError('%s must be "host:port", got %r' % (name, value))
    text = value.strip()
    if '://' in text:
        raise KubeadmConfigError('%s %r must be host:port without a scheme, e.g. 10.213.0.10:6443'
                                 % (name, value))
    host, port = text, None
    if text.startswith('['):
        close = text.find(']')
        if close < 0:
            raise KubeadmConfigError('%s %r: unclosed "[" around an IPv6 address' % (name, value))
        host, rest = text[1:close], text[close + 1:]
        if rest:
            if not rest.startswith(':'):
                raise KubeadmConfigError('%s %r: expected ":port" after "]"' % (name, value))
            port = rest[1:]
    elif text.count(':') == 1:
        host, port = text.split(':')
    elif text.count(':') > 1:
        raise KubeadmConfigError('%s %r: put an IPv6 address in brackets, e.g. [fd00::1]:6443'
                                 % (name, value))
    if port is None:
        if default_port is None:
            raise KubeadmConfigError('%s %r has no port; write host:port, e.g. 10.213.0.10:6443'
                                     % (name, value))
        port = default_port
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = -1
    if not 0 < port < 65536:
        raise KubeadmConfigError('%s %r: the port must be a number from 1 to 65535' % (name, value))
    if not host:
        raise KubeadmConfigError('%s %r has no host' % (name, value))
    if any(char.isspace() for char in host):
        raise KubeadmConfigError('%s %r: the host must not contain spaces' % (name, value))
    return host, port


def join_endpoint(host, port):
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


def validate_ca_cert_hash(value):
    text = (value or '').strip().lower()
    if not _HASH_RE.match(text):
        raise KubeadmConfigError(
            'ca_cert_hashes entry %r is not a CA certificate hash: expected "sha256:" and 64 '
            'hex digits, as edge.cluster.ca_cert_hash or kubeadm init print it' % (value,))
    return text
