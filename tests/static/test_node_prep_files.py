"""The files node_prep writes, rendered by Ansible itself from the role's vars (no node needed).

The lab's containers have overlay and br_netfilter built in, so the molecule scenario never sees
a modules-load file: this is where its content is checked. It once came out as the single line
'overlay\\nbr_netfilter' (a backslash and an n), which systemd-modules-load reads as one module
name, so neither module was loaded at boot."""

from __future__ import annotations

import json

from edge_testlib import COLLECTION, run, tool_env

VARS = COLLECTION / 'roles' / 'node_prep' / 'vars' / 'main.yml'


def _render(tmp_path, variable, extra):
    playbook = tmp_path / 'render.yml'
    playbook.write_text(json.dumps([{
        'hosts': 'localhost', 'gather_facts': False, 'connection': 'local',
        'tasks': [{'ansible.builtin.include_vars': {'file': str(VARS)}},
                  {'ansible.builtin.debug': {'var': variable}}]}]))
    done = run(['ansible-playbook', '-i', 'localhost,', str(playbook), '-e', json.dumps(extra)],
               env=tool_env(ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1'))
    tasks = json.loads(done.stdout)['plays'][0]['tasks']
    return tasks[-1]['hosts']['localhost'][variable]


def test_modules_load_file_has_one_module_per_line(tmp_path):
    content = _render(tmp_path, '_node_prep_modules_load_content',
                      {'_node_prep_modules_to_persist': ['overlay', 'br_netfilter']})
    lines = content.splitlines()
    assert lines[0].startswith('# Managed by edge.cluster.node_prep'), content
    assert lines[1:] == ['overlay', 'br_netfilter'], repr(content)
    assert content.endswith('\n') and '\\' not in content, repr(content)


def test_sysctl_file_has_one_setting_per_line(tmp_path):
    content = _render(tmp_path, '_node_prep_sysctl_content',
                      {'_node_prep_sysctls': {'net.ipv4.ip_forward': 1, 'net.bridge.bridge-nf-call-iptables': 1}})
    assert content.splitlines()[1:] == ['net.bridge.bridge-nf-call-iptables = 1', 'net.ipv4.ip_forward = 1'], repr(content)
