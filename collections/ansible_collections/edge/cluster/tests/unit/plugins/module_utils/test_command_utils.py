# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""run_checked and exit_module: how every module here runs commands and ends."""

from __future__ import annotations

import pytest

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    CommandError,
    exit_module,
    module_runner,
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


class PackageError(Exception):
    """Stands for a module's own error class, whose message is written for the user."""


@pytest.mark.parametrize('error, known, context, expected', [
    (PackageError('package x is corrupt'), (PackageError,), None, dict(msg='package x is corrupt')),
    (PackageError('package x is corrupt'), (PackageError,), dict(src='x'), dict(msg='package x is corrupt', src='x')),
    (CommandError('ctr failed (rc=1): no', ['ctr'], 1, '', 'no'), (PackageError,), dict(src='x'),
     dict(msg='ctr failed (rc=1): no', cmd=['ctr'], rc=1, stdout='', stderr='no', src='x')),
])
def test_known_errors_and_context(error, known, context, expected):
    def run_module(module):
        raise error

    with pytest.raises(Ended) as ended:
        exit_module(FakeModule(), run_module, known=known, context=context)
    assert (ended.value.how, ended.value.result) == ('fail', expected)


@pytest.mark.parametrize('unexpected, context', [
    ('unexpected error reading /etc/kubernetes/pki/ca.crt', dict(path='/etc/kubernetes/pki/ca.crt')),
    ('unexpected error importing images', None),
])
def test_unexpected_errors_say_what_the_module_was_doing(unexpected, context):
    def run_module(module):
        raise KeyError('missing')

    with pytest.raises(Ended) as ended:
        exit_module(FakeModule(), run_module, unexpected=unexpected, known=(PackageError,), context=context)
    result = ended.value.result
    assert result.pop('msg') == "%s: 'missing'" % unexpected
    assert 'run_module' in result.pop('exception')
    assert result == (context or {})


class RunCommandModule:
    """Records run_command calls; raises OSError for a command that does not exist."""

    def __init__(self):
        self.calls = []

    def run_command(self, argv, data=None, check_rc=True, handle_exceptions=True):
        self.calls.append(dict(argv=argv, data=data, check_rc=check_rc, handle_exceptions=handle_exceptions))
        if argv[0] == '/missing':
            raise OSError(2, 'No such file or directory')
        return 0, 'out', ''


@pytest.mark.parametrize('missing_ok', [False, True])
def test_module_runner_passes_stdin_and_never_checks_rc(missing_ok):
    module = RunCommandModule()
    run = module_runner(module, missing_ok=missing_ok)
    assert run(['systemctl', 'show'], data='secret') == (0, 'out', '')
    assert module.calls[0]['data'] == 'secret' and module.calls[0]['check_rc'] is False
    assert module.calls[0]['handle_exceptions'] is (not missing_ok)


def test_module_runner_missing_ok_turns_a_missing_command_into_a_fact():
    run = module_runner(RunCommandModule(), missing_ok=True)
    rc, stdout, stderr = run(['/missing', '--version'])
    assert (rc, stdout) == (None, '')
    assert 'No such file or directory' in stderr


def test_module_runner_without_missing_ok_lets_the_error_through():
    with pytest.raises(OSError):
        module_runner(RunCommandModule())(['/missing'])
