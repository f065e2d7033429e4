"""A CI job's view: run a playbook through ansible-runner's Python API with the repository as
project directory (so its ansible.cfg finds the in-repo collection), then read the outcome
and the task results from runner's status, rc and events."""

from __future__ import annotations

import os
import sys
import textwrap

import ansible_runner
from edge_testlib import REPO, VENV_BIN, openssl_ca_hash

PLAYBOOK = textwrap.dedent("""\
    ---
    - name: Join facts for CI
      hosts: control_plane
      gather_facts: false
      tasks:
        - name: Read the CA hash
          edge.cluster.ca_cert_hash:
            path: "{{ ca_path }}"
          register: edge_cluster_ca
""")


def _run(tmp_path, ca_path):
    private = tmp_path / 'runner'
    (private / 'env').mkdir(parents=True)
    playbook = tmp_path / 'ci.yml'
    playbook.write_text(PLAYBOOK)
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO),
        playbook=str(playbook),
        inventory={'all': {'children': {'control_plane': {'hosts': {'cp1': {
            'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}}},
        extravars={'ca_path': str(ca_path)},
        envvars={'ANSIBLE_CONFIG': str(REPO / 'ansible.cfg'),
                 'PATH': '%s%s%s' % (VENV_BIN, os.pathsep, os.environ.get('PATH', ''))},
        quiet=True,
        timeout=300,
    )


def _task_events(result, event, task):
    return [item['event_data'] for item in result.events
            if item['event'] == event and item.get('event_data', {}).get('task') == task]


def test_ci_run_reports_the_hash(tmp_path, openssl_ca):
    ca = openssl_ca('ca', key='rsa2048', common_name='kubernetes')
    result = _run(tmp_path, ca)
    assert result.status == 'successful'
    assert result.rc == 0
    ok = _task_events(result, 'runner_on_ok', 'Read the CA hash')
    assert len(ok) == 1 and ok[0]['host'] == 'cp1'
    assert ok[0]['res']['hash'] == openssl_ca_hash(ca)
    assert ok[0]['res']['subject'] == 'CN=kubernetes'
    assert result.stats['ok'] == {'cp1': 1}


def test_ci_run_fails_clearly_on_a_leaf_certificate(tmp_path, openssl_ca):
    leaf = openssl_ca('apiserver', ca=False, common_name='kube-apiserver')
    result = _run(tmp_path, leaf)
    assert result.status == 'failed'
    assert result.rc == 2
    failed = _task_events(result, 'runner_on_failed', 'Read the CA hash')
    assert len(failed) == 1
    message = failed[0]['res']['msg']
    assert "subject 'CN=kube-apiserver' is not a CA (basicConstraints CA:FALSE)" in message
    assert result.stats['failures'] == {'cp1': 1}
