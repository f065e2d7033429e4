# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The transfer protocol of plugin_utils/_transfer.py, driven through both action plugins that
use it, with the connection and the module replaced by recorders (molecule's static_package and
airgap_images scenarios run the real ones)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from ansible.plugins.action import ActionBase

from ansible_collections.edge.cluster.plugins.action import (
    image_import as image_action,
    static_package as package_action,
)


class FakeShell:
    def __init__(self):
        self.tmpdir = None

    @staticmethod
    def join_path(*parts):
        return '/'.join(parts)


class FakeConnection:
    def __init__(self):
        self._shell = FakeShell()


class FakeTask:
    def __init__(self, args):
        self.args = args


def make_plugin(cls, args, answers):
    """An action plugin whose module answers from the list answers (one per call)."""
    plugin = object.__new__(cls)
    plugin._task = FakeTask(args)
    plugin._connection = FakeConnection()
    plugin.calls, plugin.sent, plugin.removed = [], [], []
    answers = list(answers)

    def execute_module(module_name, module_args, task_vars):
        plugin.calls.append((module_name, module_args))
        return dict(answers.pop(0))

    def make_tmp_path():
        plugin._connection._shell.tmpdir = '/remote/tmp'

    plugin._execute_module = execute_module
    plugin._make_tmp_path = make_tmp_path
    plugin._transfer_file = lambda local, remote: plugin.sent.append((local, remote))
    plugin._fixup_perms2 = lambda paths: None
    plugin._remove_tmp_path = plugin.removed.append
    plugin._find_needle = lambda dirname, needle: needle
    return plugin


@pytest.fixture(autouse=True)
def no_base_run(monkeypatch):
    monkeypatch.setattr(ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})


@pytest.fixture
def package(tmp_path):
    path = tmp_path / 'kube-linux-amd64-v1.34.12.tar.gz'
    path.write_bytes(b'not really a package')
    return str(path), hashlib.sha256(b'not really a package').hexdigest()


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / 'images').mkdir()
    entries = []
    for name in ('pause', 'coredns'):
        (tmp_path / 'images' / (name + '.tar')).write_bytes(name.encode())
        entries.append(dict(name='registry.k8s.io/%s:1' % name, file='images/%s.tar' % name))
    (tmp_path / 'images' / 'manifest.json').write_text(json.dumps(entries))
    return str(tmp_path)


# --- both plugins ----------------------------------------------------------------------------

@pytest.mark.parametrize('cls, internal', [
    (package_action.ActionModule, '_transfer'), (package_action.ActionModule, '_cache_as'),
    (image_action.ActionModule, '_transfer'), (image_action.ActionModule, '_entries'),
])
def test_internal_options_are_refused(cls, internal):
    plugin = make_plugin(cls, {'src': 'x', internal: True}, [])
    result = plugin.run(task_vars={})
    assert result == dict(failed=True, msg='%s is internal to the action plugin; do not set it' % internal)
    assert plugin.calls == []


@pytest.mark.parametrize('cls, args', [
    (package_action.ActionModule, {'src': '/node/k.tar.gz', 'remote_src': True}),
    (package_action.ActionModule, {'url': 'https://example.invalid/k.tar.gz'}),
    (image_action.ActionModule, {'src': '/node/bundle', 'remote_src': 'yes'}),
    (image_action.ActionModule, {'kubernetes_version': 'v1.34.12'}),
])
def test_nothing_on_the_controller_is_one_plain_module_call(cls, args):
    plugin = make_plugin(cls, args, [dict(changed=False)])
    assert plugin.run(task_vars={}) == dict(changed=False)
    assert [module_args for dummy, module_args in plugin.calls] == [args]
    assert plugin.sent == []


# --- static_package --------------------------------------------------------------------------

@pytest.mark.parametrize('sums', [False, True])
def test_package_the_node_has_is_not_sent(package, sums):
    path, digest = package
    if sums:
        with open(os.path.join(os.path.dirname(path), 'SHA256SUMS'), 'w') as handle:
            handle.write('%s  %s\n' % (digest, os.path.basename(path)))
    plugin = make_plugin(package_action.ActionModule, {'src': path}, [dict(changed=False)])
    result = plugin.run(task_vars={})
    assert result == dict(changed=False, transferred=False)
    (name, first), = plugin.calls
    assert name == 'edge.cluster.static_package'
    assert first == dict(src='/var/cache/edge-cluster/' + os.path.basename(path), remote_src=True,
                         checksum=digest, _transfer=True)
    assert plugin.sent == []


def test_package_is_sent_when_asked_and_cached_by_the_second_call(package):
    path, digest = package
    plugin = make_plugin(package_action.ActionModule, {'src': path, 'cache_dir': '/c'},
                         [dict(changed=False, transfer_required=True), dict(changed=True)])
    result = plugin.run(task_vars={})
    assert result == dict(changed=True, transferred=True)
    remote = '/remote/tmp/' + os.path.basename(path)
    assert plugin.sent == [(path, remote)]
    second = plugin.calls[1][1]
    assert (second['src'], second['_cache_as'], second['_transfer']) == (
        remote, '/c/' + os.path.basename(path), False)
    assert plugin.removed == ['/remote/tmp']


def test_package_that_does_not_match_its_checksum_is_not_sent(package):
    path, digest = package
    plugin = make_plugin(package_action.ActionModule, {'src': path, 'checksum': 'sha256:' + 'a' * 64},
                         [dict(changed=False, transfer_required=True)])
    result = plugin.run(task_vars={})
    assert result['failed'] is True
    assert result['msg'] == ('package %s on the controller has sha256 %s, but the checksum option says %s: '
                             'rebuild or re-fetch it; nothing was sent or changed' % (path, digest, 'a' * 64))
    assert plugin.sent == [] and len(plugin.calls) == 1


def test_bad_checksum_option_fails_before_any_module_call(package):
    path, dummy = package
    plugin = make_plugin(package_action.ActionModule, {'src': path, 'checksum': 'md5:abc'}, [])
    result = plugin.run(task_vars={})
    assert result == dict(failed=True, msg="checksum 'md5:abc' is not a sha256: give 64 hex digits, "
                                           'optionally prefixed with "sha256:"')
    assert plugin.calls == []


# --- image_import ----------------------------------------------------------------------------

@pytest.mark.parametrize('wanted', [['images/pause.tar'], ['images/pause.tar', 'images/coredns.tar']])
def test_only_the_archives_the_node_lacks_are_sent(bundle, wanted):
    plugin = make_plugin(image_action.ActionModule, {'src': bundle},
                         [dict(changed=False, transfer_required=wanted), dict(changed=True)])
    result = plugin.run(task_vars={})
    assert result == dict(changed=True, transferred=wanted)
    assert plugin.sent == [(os.path.join(bundle, rel), '/remote/tmp/' + os.path.basename(rel)) for rel in wanted]
    second = plugin.calls[1][1]
    assert second['src'] == '/remote/tmp' and second['_transfer'] is False
    assert [e['file'] for e in second['_entries']] == ['pause.tar', 'coredns.tar']


def test_a_failure_on_the_copies_names_the_bundle_file(bundle):
    plugin = make_plugin(image_action.ActionModule, {'src': bundle},
                         [dict(transfer_required=['images/pause.tar']),
                          dict(failed=True, msg='image archive /remote/tmp/pause.tar is corrupt')])
    result = plugin.run(task_vars={})
    assert result['msg'] == 'image archive %s/images/pause.tar is corrupt' % bundle
    assert result['transferred'] == ['images/pause.tar']


def test_a_missing_archive_fails_before_anything_is_sent(bundle):
    os.unlink(os.path.join(bundle, 'images', 'coredns.tar'))
    plugin = make_plugin(image_action.ActionModule, {'src': bundle},
                         [dict(transfer_required=['images/pause.tar', 'images/coredns.tar'])])
    result = plugin.run(task_vars={})
    assert result == dict(failed=True, msg='image archive %s/images/coredns.tar, listed in the bundle, is missing '
                                           'on the controller; nothing was sent or imported' % bundle)
    assert plugin.sent == []


def test_an_unreadable_image_list_fails_without_a_module_call(tmp_path):
    plugin = make_plugin(image_action.ActionModule, {'src': str(tmp_path)}, [])
    result = plugin.run(task_vars={})
    assert result['failed'] is True and 'cannot read the image list' in result['msg']
    assert plugin.calls == []
