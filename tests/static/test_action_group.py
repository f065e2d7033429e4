"""The edge.cluster.kubeadm action group (meta/runtime.yml): every module that takes the shared
kubectl option is in it, every member takes it, and a play's `module_defaults` for the group
reaches a module (ansible hands a group's options to every member, so they must all accept
them)."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
import yaml
from edge_testlib import COLLECTION, REPO, run

MODULES = sorted(path.stem for path in (COLLECTION / 'plugins' / 'modules').glob('*.py'))
GROUP = yaml.safe_load((COLLECTION / 'meta' / 'runtime.yml').read_text())['action_groups']['kubeadm']


@pytest.fixture(scope='module')
def docs():
    names = ['edge.cluster.' + name for name in MODULES]
    data = json.loads(run(['ansible-doc', '-t', 'module', '--json'] + names).stdout)
    return {name.split('.')[-1]: data[name]['doc'] for name in names}


def test_the_group_is_every_module_that_takes_kubectl(docs):
    takes_kubectl = sorted(name for name, doc in docs.items() if 'kubectl' in doc.get('options', {}))
    assert sorted(GROUP) == takes_kubectl


@pytest.mark.parametrize('name', GROUP)
def test_every_member_shares_the_kubectl_option_and_says_it_is_a_member(docs, name):
    kubectl = docs[name]['options']['kubectl']
    assert (kubectl['type'], kubectl['default']) == ('path', 'kubectl')
    assert docs[name]['attributes']['action_group']['membership'] == ['edge.cluster.kubeadm']
    for shared in ('kubeconfig', 'wait_timeout'):
        option = docs[name]['options'].get(shared)
        if option is not None:
            assert option['default'] == {'kubeconfig': '/etc/kubernetes/admin.conf', 'wait_timeout': 120}[shared]


def test_only_kubeadm_join_lacks_the_admin_options(docs):
    """Ansible hands a group's defaults to every member: the docs tell users to put only kubectl
    there, because kubeadm_join (the node's own credentials) takes no kubeconfig or wait_timeout.
    A new member without them would break that advice silently."""
    lacking = sorted(name for name in GROUP
                     if not {'kubeconfig', 'wait_timeout'} <= set(docs[name]['options']))
    assert lacking == ['kubeadm_join']


PLAY = textwrap.dedent("""\
    - name: kubectl set once for the group
      hosts: localhost
      gather_facts: false
      module_defaults:
        group/edge.cluster.kubeadm:
          kubectl: /nonexistent/group-kubectl
      tasks:
        - name: Read nodes with the group's kubectl
          edge.cluster.node_info:
          register: edge_cluster_group_default
          ignore_errors: true
        - name: kubeadm_join accepts what the group sets (only kubectl)
          edge.cluster.kubeadm_join:
            api_server_endpoint: 127.0.0.1:6443
            token: abcdef.0123456789abcdef
            ca_cert_hashes: ["sha256:{{ '0' * 64 }}"]
          check_mode: true
          register: edge_cluster_join_with_group
          ignore_errors: true
        - name: The task's own option still wins
          edge.cluster.node_info:
            kubectl: /nonexistent/task-kubectl
          register: edge_cluster_task_value
          ignore_errors: true
        - name: Show both
          ansible.builtin.debug:
            msg: "{{ {'group': edge_cluster_group_default.msg, 'task': edge_cluster_task_value.msg} | to_json }}"
""")


def test_module_defaults_for_the_group_reach_the_module(tmp_path):
    playbook = tmp_path / 'group.yml'
    playbook.write_text(PLAY)
    done = run(['ansible-playbook', '-i', 'localhost,', '-c', 'local',
                '-e', 'ansible_python_interpreter=%s' % sys.executable, str(playbook)], cwd=REPO)
    assert 'kubectl=/nonexistent/group-kubectl is not an executable file' in done.stdout
    assert 'kubectl=/nonexistent/task-kubectl is not an executable file' in done.stdout
    assert 'Unsupported parameters' not in done.stdout, done.stdout
