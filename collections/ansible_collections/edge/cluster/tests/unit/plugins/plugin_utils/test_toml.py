# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_toml.dumps, read back with Python's own TOML parser (tomllib), so the output is real TOML."""

from __future__ import annotations

import tomllib

import pytest

from ansible_collections.edge.cluster.plugins.filter.to_toml import to_toml
from ansible_collections.edge.cluster.plugins.plugin_utils._toml import TomlError, dumps

CONTAINERD = {
    'version': 2,
    'root': '/var/lib/containerd',
    'grpc': {'address': '/run/containerd/containerd.sock'},
    'plugins': {'io.containerd.grpc.v1.cri': {
        'sandbox_image': 'registry.k8s.io/pause:3.10.1',
        'containerd': {'default_runtime_name': 'runc', 'runtimes': {'runc': {
            'runtime_type': 'io.containerd.runc.v2', 'options': {'SystemdCgroup': True, 'BinaryName': '/usr/local/bin/runc'}}}},
        'registry': {'config_path': '/etc/containerd/certs.d'},
    }},
}


def test_containerd_config_round_trips():
    text = dumps(CONTAINERD)
    assert tomllib.loads(text) == CONTAINERD
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]' in text
    assert 'SystemdCgroup = true' in text
    assert text.startswith('root = "/var/lib/containerd"\nversion = 2\n')


@pytest.mark.parametrize('value', [
    {'s': 'quote " backslash \\ newline \n tab \t unicode é'},
    {'n': [1, 2, 3], 'f': 1.5, 'b': False, 'empty': {}},
    {'host': {'http://10.213.0.10:5000': {'capabilities': ['pull', 'resolve'], 'skip_verify': True}}},
    {'a': [{'x': 1}, {'x': 2, 'y': {'z': 'deep'}}]},
])
def test_round_trip(value):
    assert tomllib.loads(dumps(value)) == value


def test_same_dict_same_text():
    shuffled = dict(reversed(list(CONTAINERD.items())))
    assert dumps(shuffled) == dumps(CONTAINERD)


@pytest.mark.parametrize('value, match', [
    ({'a': {'b': None}}, 'a.b is null'),
    ({'a': [1, {'x': 1}]}, 'a mixes tables and values'),
    ({'a': object()}, 'a has a value of type object'),
    ({1: 'x'}, 'keys must be strings'),
    (['not', 'a', 'dict'], 'expected a dict'),
])
def test_refuses_with_the_key_named(value, match):
    with pytest.raises(TomlError, match=match):
        dumps(value)


def test_filter_raises_ansible_filter_error():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match='edge.cluster.to_toml: a is null'):
        to_toml({'a': None})
