# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""static_package's main() (and its action plugin's checksum choice) on synthetic packages.

systemctl is answered by a recorder patched into AnsibleModule.run_command: the host running
the unit tests is never touched outside tmp_path.
"""

from __future__ import annotations

import os

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.action import static_package as action
from ansible_collections.edge.cluster.plugins.modules import static_package as module
from ansible_collections.edge.cluster.tests.unit.plugins.module_utils.package_factory import (
    package_members,
    tree_snapshot,
    write_package,
)


@pytest.fixture
def systemctl(monkeypatch):
    calls = []
    enabled = set()

    def run_command(self, argv, check_rc=False, **kwargs):
        calls.append(list(argv))
        assert argv[0] == 'systemctl', argv
        if argv[1] == 'enable':
            enabled.add(argv[2])
        if argv[1] == 'is-enabled':
            return (0, 'enabled\n', '') if argv[2] in enabled else (1, 'disabled\n', '')
        if argv[1] == 'is-active':
            return 3, 'inactive\n', ''
        return 0, '', ''

    monkeypatch.setattr(AnsibleModule, 'run_command', run_command)
    return calls


@pytest.fixture
def args(tmp_path):
    root = tmp_path / 'node'
    (root / 'etc').mkdir(parents=True)
    package = tmp_path / 'kube-linux-amd64-v1.34.12.tar.gz'
    digest = write_package(str(package))
    return root, digest, dict(
        src=str(package), remote_src=True,
        bin_dir=str(root / 'usr/local/bin'), cni_bin_dir=str(root / 'opt/cni/bin'),
        runtime_bin_dir=str(root / 'usr/local/bin'), systemd_dir=str(root / 'etc/systemd/system'),
        kubelet_env_file=str(root / 'etc/default/kubelet'), cache_dir=str(root / 'var/cache/edge-cluster'),
        state_file=str(root / 'var/lib/edge-cluster/static-package.json'))


def test_install_then_no_change(run_module, systemctl, args):
    root, digest, params = args
    rc, result = run_module(module.main, params)
    assert rc == 0 and result['changed'] is True, result
    assert result['package']['sha256'] == digest
    assert os.access(str(root / 'usr/local/bin/kubeadm'), os.X_OK)
    assert ['systemctl', 'daemon-reload'] in systemctl
    before = tree_snapshot(str(root))
    rc, result = run_module(module.main, params)
    assert rc == 0 and result['changed'] is False
    assert tree_snapshot(str(root)) == before


def test_check_and_diff_mode(run_module, systemctl, args):
    root, _digest, params = args
    before = tree_snapshot(str(root))
    rc, result = run_module(module.main, dict(params, _ansible_check_mode=True, _ansible_diff=True))
    assert rc == 0 and result['changed'] is True
    assert '/usr/local/bin/kubelet: absent' in result['diff'][0]['before']
    assert tree_snapshot(str(root)) == before
    assert ['systemctl', 'daemon-reload'] not in systemctl


def test_wrong_arch_fails_without_changes(run_module, systemctl, args, tmp_path):
    root, _digest, params = args
    arm = tmp_path / 'kube-linux-arm64-v1.34.12.tar.gz'
    write_package(str(arm), members=package_members('arm64'), arch='arm64')
    before = tree_snapshot(str(root))
    rc, result = run_module(module.main, dict(params, src=str(arm)))
    assert rc == 1 and result['failed'] is True
    assert result['msg'].startswith('package is arm64, node is ')
    assert tree_snapshot(str(root)) == before


def test_controller_src_without_action_plugin_is_explained(run_module, systemctl, args):
    _root, _digest, params = args
    rc, result = run_module(module.main, dict(params, remote_src=False))
    assert rc == 1 and 'action plugin' in result['msg']


def test_src_and_url_are_exclusive(run_module, systemctl, args):
    _root, _digest, params = args
    rc, result = run_module(module.main, dict(params, url='http://127.0.0.1:1/k.tar.gz'))
    assert rc == 1 and 'mutually exclusive' in result['msg']


def test_bad_checksum_option_is_named(run_module, systemctl, args):
    _root, _digest, params = args
    rc, result = run_module(module.main, dict(params, checksum='md5:1234'))
    assert rc == 1 and "'md5:1234' is not a sha256" in result['msg']


def test_controller_checksum_prefers_option_then_sums_then_hash(tmp_path):
    package = tmp_path / 'k.tar.gz'
    digest = write_package(str(package), sums=False)
    assert action.controller_checksum(str(package), 'sha256:' + 'A' * 64) == ('a' * 64, 'the checksum option', None)
    assert action.controller_checksum(str(package), None) == (digest, 'the controller file', digest)
    (tmp_path / 'SHA256SUMS').write_text('%s  k.tar.gz\n' % ('b' * 64))
    assert action.controller_checksum(str(package), None) == ('b' * 64, str(tmp_path / 'SHA256SUMS'), None)
