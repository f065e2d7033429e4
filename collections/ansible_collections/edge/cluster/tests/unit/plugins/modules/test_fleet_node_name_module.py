# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_node_name main(): records the name once, keeps it, check and diff modes."""

from __future__ import annotations

import os
import re
import stat

from ansible_collections.edge.cluster.plugins.modules import fleet_node_name as module


def test_generates_records_and_keeps(run_module, tmp_path):
    path = str(tmp_path / 'etc' / 'node-name')
    rc, first = run_module(module.main, {'path': path, 'prefix': 'edge', 'taken': ['cp-1']})
    assert rc == 0 and first['changed'] and first['source'] == 'generated'
    assert re.match(r'^edge-[a-z0-9]{6}$', first['node_name'])
    assert open(path).read() == first['node_name'] + '\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    rc, second = run_module(module.main, {'path': path, 'prefix': 'edge'})
    assert not second['changed'] and second['node_name'] == first['node_name'] and second['source'] == 'recorded'
    rc, renamed = run_module(module.main, {'path': path, 'prefix': 'edge', 'rename': True})
    assert renamed['changed'] and renamed['node_name'] != first['node_name']
    assert renamed['previous'] == first['node_name']


def test_check_mode_writes_nothing_and_diff(run_module, tmp_path):
    path = str(tmp_path / 'node-name')
    rc, result = run_module(module.main, {'path': path, 'name': 'my-node', '_ansible_check_mode': True,
                                          '_ansible_diff': True})
    assert rc == 0 and result['changed'] and result['node_name'] == 'my-node'
    assert result['diff']['before'] == '' and result['diff']['after'] == 'my-node\n'
    assert not os.path.exists(path)


def test_bad_override_fails_before_writing(run_module, tmp_path):
    path = str(tmp_path / 'node-name')
    rc, result = run_module(module.main, {'path': path, 'name': 'taken-1', 'taken': ['taken-1']})
    assert rc == 1 and 'already a Node' in result['msg']
    assert not os.path.exists(path)
