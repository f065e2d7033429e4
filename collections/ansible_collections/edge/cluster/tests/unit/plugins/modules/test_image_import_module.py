# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_import's main() with a bundle folder on the 'node' (remote_src) and the fake ctr of the
module_utils tests answering AnsibleModule.run_command; and the action plugin's manifest reading."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.action import image_import as action
from ansible_collections.edge.cluster.plugins.module_utils._image_import import ImageError
from ansible_collections.edge.cluster.plugins.modules import image_import as module
from ansible_collections.edge.cluster.tests.unit.plugins.module_utils.test_image_import import Bundle, FakeNode


@pytest.fixture
def fake(monkeypatch):
    node = FakeNode()
    node.ctr.binary = '/bin/true'

    def run_command(self, argv, check_rc=False, **kwargs):
        if argv[0] == '/bin/true':
            argv = ['/usr/local/bin/ctr'] + list(argv[1:])
        elif argv[0] == '/bin/echo':
            argv = ['kubeadm'] + list(argv[1:])
        return node.run(argv)

    monkeypatch.setattr(AnsibleModule, 'run_command', run_command)
    return node


@pytest.fixture
def bundle(tmp_path):
    bundle = Bundle(tmp_path / 'bundle')
    bundle.add('registry.k8s.io/kube-apiserver:v1.34.12')
    bundle.add('registry.k8s.io/pause:3.10.1')
    (bundle.root / 'images' / 'manifest.json').write_text(json.dumps(
        [dict(name=e['name'], file=e['file'], digest=e['digest']) for e in bundle.entries]))
    (bundle.root / 'SHA256SUMS').write_text(''.join('%s  %s\n' % (v, k) for k, v in bundle.sums.items()))
    return bundle


def params(bundle, **extra):
    return dict(dict(src=str(bundle.root), remote_src=True, ctr_path='/bin/true', kubeadm_path='/bin/echo',
                     kubernetes_version='v1.34.12'), **extra)


def test_remote_bundle_imports_then_reports_no_change(run_module, fake, bundle):
    rc, result = run_module(module.main, params(bundle))
    assert rc == 0 and result['changed'] is True, result
    assert result['imported'] == ['registry.k8s.io/kube-apiserver:v1.34.12', 'registry.k8s.io/pause:3.10.1']
    rc, result = run_module(module.main, params(bundle))
    assert rc == 0 and result['changed'] is False and result['imported'] == []


def test_remote_bundle_sha256sums_are_used(run_module, fake, bundle):
    path = bundle.root / bundle.entries[1]['file']
    path.write_bytes(path.read_bytes()[:-1] + b'\x01')
    rc, result = run_module(module.main, params(bundle))
    assert rc == 1 and 'pause_3.10.1.tar is corrupt: sha256' in result['msg']
    assert fake.images == {}


def test_missing_image_list(run_module, fake, tmp_path):
    rc, result = run_module(module.main, dict(src=str(tmp_path), remote_src=True, ctr_path='/bin/true'))
    assert rc == 1 and 'cannot read the image list' in result['msg'] and 'bundle folder' in result['msg']


def test_controller_src_without_action_plugin_is_explained(run_module, fake, bundle):
    rc, result = run_module(module.main, params(bundle, remote_src=False))
    assert rc == 1 and 'action plugin' in result['msg']


def test_action_plugin_reads_manifest_and_sums(bundle):
    entries = action.controller_entries(str(bundle.root), 'images/manifest.json')
    assert [e['sha256'] for e in entries] == [bundle.sums[e['file']] for e in bundle.entries]


def test_action_plugin_refuses_clashing_file_names(tmp_path):
    (tmp_path / 'images').mkdir()
    (tmp_path / 'images' / 'manifest.json').write_text(json.dumps([
        dict(name='a:1', file='images/x.tar'), dict(name='b:1', file='other/x.tar')]))
    with pytest.raises(ImageError, match='share the file name x.tar'):
        action.controller_entries(str(tmp_path), 'images/manifest.json')
