# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_kubeadm_values: versions and the kubeadm API they imply, and the checks of option values
(each error names the value)."""

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _kubeadm_values as kv


# ---------------------------------------------------------------- versions

@pytest.mark.parametrize('version, api', [
    ('v1.34.12', kv.KUBEADM_V1BETA4),
    ('1.31.0', kv.KUBEADM_V1BETA4),
    ('v1.35.0-rc.1', kv.KUBEADM_V1BETA4),
    ('v1.30.14', kv.KUBEADM_V1BETA3),
    ('1.22', kv.KUBEADM_V1BETA3),
    ((1, 31, 0), kv.KUBEADM_V1BETA4),
])
def test_api_version_follows_the_kubernetes_version(version, api):
    assert kv.api_version_for(version) == api


@pytest.mark.parametrize('bad', ['v1.21.9', '1.18.2'])
def test_too_old_versions_are_refused(bad):
    with pytest.raises(kv.KubeadmConfigError, match='older than this collection supports'):
        kv.api_version_for(bad)


@pytest.mark.parametrize('bad', ['latest', 'v1', '1.x.3', '', None])
def test_versions_must_look_like_versions(bad):
    with pytest.raises(kv.KubeadmConfigError, match='not a Kubernetes version'):
        kv.parse_version(bad)


def test_normalize_version_adds_the_v():
    assert kv.normalize_version('1.34.12') == 'v1.34.12'
    assert kv.normalize_version('v1.34.12') == 'v1.34.12'


# ---------------------------------------------------------------- validation helpers

@pytest.mark.parametrize('value, expected', [
    ('10.213.0.10:6443', ('10.213.0.10', 6443)),
    ('cp.edge.test:443', ('cp.edge.test', 443)),
    ('[fd00::1]:6443', ('fd00::1', 6443)),
])
def test_split_endpoint(value, expected):
    assert kv.split_endpoint(value) == expected


@pytest.mark.parametrize('value, message', [
    ('https://10.213.0.10:6443', 'without a scheme'),
    ('10.213.0.10', 'has no port'),
    ('10.213.0.10:0', 'port must be'),
    ('10.213.0.10:http', 'port must be'),
    ('fd00::1:6443', 'brackets'),
    ('[fd00::1', 'unclosed'),
    (':6443', 'has no host'),
    ('lb example:6443', 'must not contain spaces'),
])
def test_split_endpoint_errors(value, message):
    with pytest.raises(kv.KubeadmConfigError, match=message):
        kv.split_endpoint(value)


def test_bare_host_takes_the_default_port():
    assert kv.split_endpoint('vip.edge.test', default_port=6443) == ('vip.edge.test', 6443)
    assert kv.join_endpoint('fd00::1', 6443) == '[fd00::1]:6443'


@pytest.mark.parametrize('function, value, named', [
    (kv.validate_cidr, '10.244.0.1/16', '10.244.0.1/16'),
    (kv.validate_cidrs, '10.244.0.0/16,zz', "'zz'"),
    (kv.validate_node_name, 'Edge_01', 'Edge_01'),
    (kv.validate_ip, '10.213.0.300', '10.213.0.300'),
    (kv.validate_san, 'bad name', 'bad name'),
    (kv.validate_ca_cert_hash, 'sha1:abcd', 'sha1:abcd'),
])
def test_bad_values_are_named(function, value, named):
    args = (value, 'x') if function in (kv.validate_cidr, kv.validate_cidrs, kv.validate_ip) \
        else (value,)
    with pytest.raises(kv.KubeadmConfigError) as caught:
        function(*args)
    assert named in str(caught.value)


def test_good_values_pass():
    assert kv.validate_cidrs('10.244.0.0/16,fd00:10:244::/56', 'x')
    assert kv.validate_san('*.edge.test') and kv.validate_san('fd00::1')
    assert kv.validate_ca_cert_hash('SHA256:' + 'AB' * 32) == 'sha256:' + 'ab' * 32
