# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""run_checked and exit_module: how every module here runs commands and ends."""

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    CommandError,
    exit_module,
    run_checked,
)


class Ended(Exception):
    """Raised by FakeModule instead of sys.exit, carrying how the module ended."""

    def __init__(self, how, result):
        super().__init__(how)
        self.how = how
        self.result = result


class FakeModule:
    def exit_json(self, **result):
        raise Ended('exit', result)

    def fail_json(self, **result):
        raise Ended('fail', result)


def _end(run_module):
    with pytest.raises(Ended) as ended:
        exit_module(FakeModule(), run_module)
    return ended.value


def test_result_is_returned_as_is():
    ended = _end(lambda module: dict(changed=True, name='x'))
    assert (ended.how, ended.result) == ('exit', dict(changed=True, name='x'))


def test_command_error_fails_with_its_fields():
    def run_module(module):
        raise CommandError('kubeadm join failed (rc=1): nope', ['kubeadm', 'join'], 1, 'out', 'err')

    ended = _end(run_module)
    assert ended.how == 'fail'
    assert ended.result == dict(msg='kubeadm join failed (rc=1): nope', cmd=['kubeadm', 'join'], rc=1,
                                stdout='out', stderr='err')


def test_a_bug_fails_with_its_traceback():
    def run_module(module):
        return {}['missing']

    ended = _end(run_module)
    assert ended.how == 'fail'
    assert ended.result['msg'] == "unexpected error: 'missing'"
    assert 'run_module' in ended.result['exception']


def test_run_checked_names_the_action_and_keeps_output():
    def run(argv, data=None):
        return 3, 'partial', 'boom\n'

    with pytest.raises(CommandError) as err:
        run_checked(run, ['kubectl', 'get'], 'listing Nodes')
    assert err.value.msg == 'listing Nodes failed (rc=3): boom'
    assert (err.value.rc, err.value.stdout, err.value.cmd) == (3, 'partial', ['kubectl', 'get'])


def test_run_checked_refuses_a_shell_string():
    with pytest.raises(TypeError):
        run_checked(lambda argv, data=None: (0, '', ''), 'kubectl get nodes', 'listing Nodes')
