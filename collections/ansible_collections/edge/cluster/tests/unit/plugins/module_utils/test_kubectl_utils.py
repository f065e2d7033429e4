# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    CommandError,
    run_checked,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubectl import Kubectl

REFUSED = ('The connection to the server 127.0.0.1:6443 was refused - did you specify the right '
           'host or port?')


class ScriptedRun:
    """A run(argv, data) callable answering from a list of (rc, stdout, stderr)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, data=None):
        self.calls.append((argv, data))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_argv_is_a_list_with_global_flags_first():
    kubectl = Kubectl(None, '/usr/bin/kubectl', '/etc/kubernetes/admin.conf')
    assert kubectl.argv(['get', 'nodes']) == [
        '/usr/bin/kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf',
        '--request-timeout', '30s', 'get', 'nodes']


def test_check_returns_stdout_and_passes_stdin():
    run = ScriptedRun([(0, 'secret/x created\n', '')])
    kubectl = Kubectl(run, 'kubectl', '/k')
    assert kubectl.check(['create', '-f', '-'], 'creating', data='{"a": 1}') == 'secret/x created\n'
    assert run.calls == [(['kubectl', '--kubeconfig', '/k', '--request-timeout', '30s',
                           'create', '-f', '-'], '{"a": 1}')]


def test_check_failure_carries_everything_fail_json_needs():
    run = ScriptedRun([(1, 'out', 'Error from server (AlreadyExists): secrets "x" exists\n')])
    with pytest.raises(CommandError) as caught:
        Kubectl(run, 'kubectl', '/k').check(['create', '-f', '-'], 'creating Secret x')
    result = caught.value.result()
    assert result['msg'] == ('creating Secret x failed (rc=1): Error from server (AlreadyExists): '
                             'secrets "x" exists')
    assert result['rc'] == 1
    assert result['stdout'] == 'out'
    assert result['stderr'].startswith('Error from server')
    assert result['cmd'][0] == 'kubectl' and result['cmd'][-1] == '-'


@pytest.mark.parametrize('argv', ['kubectl get nodes', ('kubectl',), ['kubectl', 3]])
def test_run_checked_refuses_anything_but_a_list_of_str(argv):
    with pytest.raises(TypeError, match='list of str'):
        run_checked(ScriptedRun([(0, '', '')]), argv, 'x')


def test_wait_ready_returns_once_the_api_answers():
    clock = FakeClock()
    run = ScriptedRun([(1, '', REFUSED), (1, '', REFUSED), (0, 'ok', '')])
    kubectl = Kubectl(run, 'kubectl', '/k')
    assert kubectl.wait_ready(60, sleep=clock.sleep, clock=clock) == 3
    assert clock.sleeps == [2.0, 2.0]
    assert run.calls[0][0][-3:] == ['get', '--raw', '/readyz']
    assert run.calls[0][0][3:5] == ['--request-timeout', '5s']


def test_wait_ready_times_out_with_the_last_error():
    clock = FakeClock()
    run = ScriptedRun([(1, '', 'dial tcp: i/o timeout'), (1, '', REFUSED)])
    with pytest.raises(CommandError) as caught:
        Kubectl(run, 'kubectl', '/etc/kubernetes/admin.conf').wait_ready(
            5, sleep=clock.sleep, clock=clock)
    message = caught.value.msg
    assert 'did not answer within 5s' in message
    assert 'kubeconfig /etc/kubernetes/admin.conf' in message
    assert 'last kubectl error: ' + REFUSED in message
    assert clock.now - 1000.0 == pytest.approx(5.0)
    assert caught.value.rc == 1 and caught.value.stderr == REFUSED


def test_wait_ready_timeout_zero_tries_once():
    clock = FakeClock()
    run = ScriptedRun([(1, '', REFUSED)])
    with pytest.raises(CommandError, match='within 0s'):
        Kubectl(run, 'kubectl', '/k').wait_ready(0, sleep=clock.sleep, clock=clock)
    assert len(run.calls) == 1 and clock.sleeps == []


@pytest.mark.parametrize('stderr', [
    'error: error loading config file "/k": open /k: permission denied',
    'error: You must be logged in to the server (Unauthorized)',
    'Error from server (Forbidden): forbidden: User "x" cannot get path "/readyz"',
])
def test_wait_ready_fails_at_once_on_errors_waiting_cannot_fix(stderr):
    clock = FakeClock()
    run = ScriptedRun([(1, '', stderr)])
    with pytest.raises(CommandError) as caught:
        Kubectl(run, 'kubectl', '/k').wait_ready(300, sleep=clock.sleep, clock=clock)
    assert 'cannot reach the API server with kubeconfig /k' in caught.value.msg
    assert stderr in caught.value.msg
    assert len(run.calls) == 1 and clock.sleeps == []
