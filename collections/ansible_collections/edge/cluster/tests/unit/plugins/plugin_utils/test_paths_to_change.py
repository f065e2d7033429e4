# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""paths_to_change against what the real probe (_node_preflight.path_states) reads from files on disk."""

from __future__ import annotations

import grp
import os
import pwd

import pytest
from ansible.errors import AnsibleFilterError
from ansible.utils.hashing import checksum_s

from ansible_collections.edge.cluster.plugins.filter.paths_to_change import FilterModule
from ansible_collections.edge.cluster.plugins.module_utils._node_preflight import path_states
from ansible_collections.edge.cluster.plugins.plugin_utils._paths_to_change import (
    WantedPathError,
    differences,
    paths_to_change,
)

filter_paths_to_change = FilterModule().filters()['paths_to_change']
OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
CONTENT = '# Managed by edge.cluster\nnet.ipv4.ip_forward = 1\nnote = caf\u00e9\n'


@pytest.fixture
def node(tmp_path):
    """A folder and a file as a role wants them, written the way copy/file would leave them."""
    folder = tmp_path / 'etc' / 'containerd'
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    conf = folder / 'config.toml'
    conf.write_bytes(CONTENT.encode('utf-8'))
    conf.chmod(0o644)
    wanted = [
        {'path': str(folder), 'state': 'directory', 'mode': '0755', 'owner': OWNER, 'group': GROUP},
        {'path': str(conf), 'content': CONTENT, 'mode': '0644', 'owner': OWNER, 'group': GROUP},
    ]
    return folder, conf, wanted


def _probe(wanted):
    return path_states([entry['path'] for entry in wanted])


def test_converged_paths_need_nothing(node):
    _folder, _conf, wanted = node
    assert paths_to_change(wanted, _probe(wanted)) == []
    assert filter_paths_to_change(wanted, _probe(wanted)) == []


@pytest.mark.parametrize('change, expected', [
    (lambda folder, conf: conf.write_text(CONTENT + 'more\n'), ['content']),
    (lambda folder, conf: conf.chmod(0o600), ['mode']),
    (lambda folder, conf: (conf.write_text('x'), conf.chmod(0o640)), ['content', 'mode']),
    (lambda folder, conf: conf.unlink(), ['absent']),
    (lambda folder, conf: (conf.unlink(), conf.mkdir()), ['type']),
    (lambda folder, conf: (conf.unlink(), conf.symlink_to('/etc/hostname')), ['type']),
])
def test_a_changed_file_is_kept_with_what_differs(node, change, expected):
    folder, conf, wanted = node
    change(folder, conf)
    found = _probe(wanted)
    assert differences(wanted[1], found[str(conf)]) == expected
    assert paths_to_change(wanted, found) == [wanted[1]]


def test_a_changed_folder_is_kept(node):
    folder, _conf, wanted = node
    folder.chmod(0o700)
    found = _probe(wanted)
    assert differences(wanted[0], found[str(folder)]) == ['mode']
    assert paths_to_change(wanted, found) == [wanted[0]]


def test_owner_and_group_are_compared_by_name(node):
    _folder, conf, wanted = node
    other = dict(wanted[1], owner='edge-nobody-%d' % os.getpid(), group='edge-nogroup')
    assert differences(other, _probe(wanted)[str(conf)]) == ['owner', 'group']


def test_left_out_mode_owner_group_are_not_compared(node):
    _folder, conf, wanted = node
    conf.chmod(0o600)
    loose = {'path': str(conf), 'content': CONTENT}
    assert paths_to_change([loose], _probe(wanted)) == []


def test_missing_or_unhashed_states_count_as_different(node):
    _folder, conf, wanted = node
    found = _probe(wanted)
    assert paths_to_change(wanted, {}) == wanted  # the probe was not asked about them
    found[str(conf)] = dict(found[str(conf)], sha1=None)  # node_preflight's answer for files over 16 MiB
    assert paths_to_change(wanted, found) == [wanted[1]]


@pytest.mark.parametrize('text', ['', 'plain\n', 'caf\u00e9 \u2603\n', 'no newline'])
def test_content_hash_is_the_one_copy_compares(tmp_path, text):
    # ansible.builtin.copy decides by checksum_s(content) against the node's sha1; so must this.
    path = tmp_path / 'f'
    path.write_bytes(text.encode('utf-8'))
    entry = {'path': str(path), 'content': text}
    assert differences(entry, path_states([str(path)])[str(path)]) == []
    assert path_states([str(path)])[str(path)]['sha1'] == checksum_s(text)


@pytest.mark.parametrize('mode', ['0644', '644', ' 0644', 0o644])
def test_mode_spellings(node, mode):
    _folder, conf, wanted = node
    assert differences(dict(wanted[1], mode=mode), _probe(wanted)[str(conf)]) == []


def test_other_keys_are_kept(node):
    _folder, conf, wanted = node
    conf.unlink()
    tagged = [dict(entry, restart=True) for entry in wanted]
    assert paths_to_change(tagged, _probe(wanted)) == [tagged[1]]


@pytest.mark.parametrize('wanted, message', [
    ('/etc/x', 'wanted paths must be a list of dicts, got str'),
    (['/etc/x'], "each wanted path must be a dict .*got '/etc/x'"),
    ([{'content': 'x'}], 'path None is not an absolute path'),
    ([{'path': 'etc/x', 'content': 'x'}], "path 'etc/x' is not an absolute path"),
    ([{'path': '/etc/x'}], '/etc/x: a file needs its content as a string \\(got NoneType\\)'),
    ([{'path': '/etc/x', 'content': {'a': 1}}], '/etc/x: a file needs its content as a string \\(got dict\\)'),
    ([{'path': '/etc/x', 'state': 'absent'}], "/etc/x: state 'absent' is not one of file, directory"),
    ([{'path': '/etc/x', 'state': 'directory', 'content': ''}], '/etc/x: a directory has no content'),
    ([{'path': '/etc/x', 'content': '', 'mode': 'u+rw'}], "/etc/x: mode 'u\\+rw' is not an octal mode.*\"0644\""),
    ([{'path': '/etc/x', 'content': '', 'mode': '0999'}], "/etc/x: mode '0999' is not an octal mode"),
    ([{'path': '/etc/x', 'content': '', 'mode': True}], '/etc/x: mode True is not an octal mode'),
    ([{'path': '/etc/x', 'content': '', 'owner': 0}], '/etc/x: owner 0 must be a name'),
])
def test_bad_entries_are_named(wanted, message):
    with pytest.raises(WantedPathError, match=message):
        paths_to_change(wanted, {})
    with pytest.raises(AnsibleFilterError, match='^edge.cluster.paths_to_change: ' + message):
        filter_paths_to_change(wanted, {})


def test_found_must_be_the_probe_paths_dict():
    with pytest.raises(AnsibleFilterError, match="probe's paths must be a dict .*got list"):
        filter_paths_to_change([], [])
