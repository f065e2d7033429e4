# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""bootstrap_token's main() against a fake kubectl that keeps Secrets in memory.

Unit level only: it checks the module's decisions and the commands it would run. Real
kubeadm/kubectl behaviour is for the lab and end-to-end suites.
"""

from __future__ import annotations

import base64
import datetime
import json
import re

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils import _bootstrap_token as bt
from ansible_collections.edge.cluster.plugins.modules import bootstrap_token as module

EXPLICIT = 'k8s9zz.qwertyuiopasdfgh'
REFUSED = 'The connection to the server 127.0.0.1:6443 was refused'
TOKEN_RE = re.compile(r'^[a-z0-9]{6}\.[a-z0-9]{16}$')


class FakeKubectl:
    """Stands in for AnsibleModule.run_command: understands the kubectl calls the module makes
    and refuses any other, so a change of argv shows up here."""

    def __init__(self):
        self.secrets = {}
        self.calls = []
        self.ready = True
        self.fail = {}  # verb -> (rc, stdout, stderr)

    def __call__(self, argv, data=None, check_rc=False, **kwargs):
        self.calls.append((list(argv), data))
        assert argv[1:5] == ['--kubeconfig', self.kubeconfig, '--request-timeout', argv[4]]
        args = argv[5:]
        if args == ['get', '--raw', '/readyz']:
            return (0, 'ok', '') if self.ready else (1, '', REFUSED)
        assert args[:2] == ['--namespace', 'kube-system'], args
        verb = args[2]
        if verb in self.fail:
            return self.fail[verb]
        if args[2:] == bt.list_args()[2:]:
            items = [s for s in self.secrets.values() if s.get('type') == bt.SECRET_TYPE]
            return 0, json.dumps({'apiVersion': 'v1', 'kind': 'List', 'items': items}), ''
        if verb == 'get':
            assert args == bt.get_args(args[4][len('bootstrap-token-'):])
            found = self.secrets.get(args[4])
            return 0, json.dumps(found) if found else '', ''
        if verb in ('create', 'replace'):
            assert args == (bt.create_args() if verb == 'create' else bt.replace_args())
            obj = json.loads(data)
            name = obj['metadata']['name']
            if verb == 'create' and name in self.secrets:
                return 1, '', 'Error from server (AlreadyExists): secrets "%s" already exists' % name
            if verb == 'replace' and name not in self.secrets:
                return 1, '', 'Error from server (NotFound): secrets "%s" not found' % name
            self.secrets[name] = obj
            return 0, 'secret/%s\n' % name, ''
        if verb == 'delete':
            assert args == bt.delete_args(args[4][len('bootstrap-token-'):])
            if self.secrets.pop(args[4], None) is None:
                return 0, '', ''
            return 0, 'secret "%s" deleted\n' % args[4], ''
        raise AssertionError('unexpected kubectl call: %r' % argv)

    def add(self, token):
        self.secrets['bootstrap-token-' + token.token_id] = bt.secret_manifest(token)

    def verbs(self):
        return [argv[7] if argv[5] == '--namespace' else argv[5] for argv, dummy in self.calls]


@pytest.fixture
def kubectl(monkeypatch, tmp_path):
    fake = FakeKubectl()
    kubeconfig = tmp_path / 'admin.conf'
    kubeconfig.write_text('apiVersion: v1\nkind: Config\n')
    fake.kubeconfig = str(kubeconfig)

    def run_command(self, args, data=None, check_rc=False, **kwargs):
        return fake(args, data=data, check_rc=check_rc)

    monkeypatch.setattr(AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: '/usr/bin/' + name)
    return fake


def _args(kubectl, **extra):
    args = {'kubeconfig': kubectl.kubeconfig, 'wait_timeout': 0}
    args.update(extra)
    return args


def _stored_token(kubectl, token_id):
    return bt.token_from_secret(kubectl.secrets['bootstrap-token-' + token_id])


def test_creates_a_token_then_reuses_it(run_module, kubectl):
    rc, first = run_module(module.main, _args(kubectl, ttl='2h', min_remaining_ttl='30m'))
    assert rc == 0, first
    assert first['changed'] is True and first['reused'] is False
    assert TOKEN_RE.match(first['token'])
    assert first['token_id'] == first['token'].split('.')[0]
    stored = _stored_token(kubectl, first['token_id'])
    assert '%s.%s' % (stored.token_id, stored.token_secret) == first['token']
    assert stored.usages == ('authentication', 'signing')
    assert stored.groups == ('system:bootstrappers:kubeadm:default-node-token',)
    assert stored.description == bt.DEFAULT_DESCRIPTION
    left = stored.expires - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=119) < left <= datetime.timedelta(hours=2)
    assert first['expires'] == bt.format_rfc3339(stored.expires)

    rc, second = run_module(module.main, _args(kubectl, ttl='2h', min_remaining_ttl='30m'))
    assert rc == 0
    assert (second['changed'], second['reused'], second['token']) == (False, True, first['token'])
    assert len(kubectl.secrets) == 1


def test_the_secret_goes_on_stdin_never_on_argv(run_module, kubectl):
    rc, result = run_module(module.main, _args(kubectl))
    assert rc == 0
    secret_part = result['token'].split('.')[1]
    for argv, dummy in kubectl.calls:
        assert all(secret_part not in arg for arg in argv)
    creates = [data for argv, data in kubectl.calls if 'create' in argv]
    assert len(creates) == 1
    sent = json.loads(creates[0])
    assert base64.b64decode(sent['data']['token-secret']).decode() == secret_part


def test_check_mode_creates_nothing(run_module, kubectl):
    rc, result = run_module(module.main, _args(kubectl, _ansible_check_mode=True))
    assert rc == 0
    assert result['changed'] is True and result['reused'] is False
    assert result['token'] is None and result['token_id'] is None
    assert kubectl.secrets == {}
    assert 'create' not in kubectl.verbs() and 'replace' not in kubectl.verbs()


def test_check_mode_reports_reuse_without_change(run_module, kubectl):
    kubectl.add(bt.BootstrapToken('aaaaaa', 'bbbbbbbbbbbbbbbb', None, ('authentication', 'signing'),
                                  tuple(bt.DEFAULT_GROUPS), 'kubeadm init'))
    rc, result = run_module(module.main, _args(kubectl, _ansible_check_mode=True))
    assert rc == 0
    assert (result['changed'], result['reused']) == (False, True)
    assert result['token'] == 'aaaaaa.bbbbbbbbbbbbbbbb' and result['expires'] is None


def test_expiring_or_mismatched_tokens_are_not_reused(run_module, kubectl):
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    kubectl.add(bt.BootstrapToken('aaaaaa', 'a' * 16, soon.replace(microsecond=0),
                                  ('authentication', 'signing'), tuple(bt.DEFAULT_GROUPS), ''))
    kubectl.add(bt.BootstrapToken('bbbbbb', 'b' * 16, None, ('signing',),
                                  tuple(bt.DEFAULT_GROUPS), ''))
    rc, result = run_module(module.main, _args(kubectl, min_remaining_ttl='1h'))
    assert rc == 0
    assert result['changed'] is True and result['reused'] is False
    assert result['token_id'] not in ('aaaaaa', 'bbbbbb')
    assert len(kubectl.secrets) == 3


def test_explicit_token_is_created_kept_and_never_shown(run_module, kubectl):
    args = _args(kubectl, token=EXPLICIT, ttl='30m', min_remaining_ttl='10m',
                 description='fleet batch 7')
    rc, first = run_module(module.main, args)
    assert rc == 0, first
    assert first['changed'] is True and first['token_id'] == 'k8s9zz'
    stored = _stored_token(kubectl, 'k8s9zz')
    assert stored.token_secret == 'qwertyuiopasdfgh' and stored.description == 'fleet batch 7'
    # no_log: neither the token nor its secret part appears anywhere in the module's output
    assert 'qwertyuiopasdfgh' not in first['_raw_output']
    assert first['invocation']['module_args']['token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert first['token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'

    rc, second = run_module(module.main, args)
    assert rc == 0
    assert (second['changed'], second['reused']) == (False, True)
    assert 'qwertyuiopasdfgh' not in second['_raw_output']


def test_explicit_token_with_another_secret_is_replaced(run_module, kubectl):
    kubectl.add(bt.BootstrapToken('k8s9zz', 'z' * 16, None, ('authentication', 'signing'),
                                  tuple(bt.DEFAULT_GROUPS), 'old'))
    rc, result = run_module(module.main, _args(kubectl, token=EXPLICIT, _ansible_diff=True))
    assert rc == 0
    assert result['changed'] is True
    assert 'replace' in kubectl.verbs()
    stored = _stored_token(kubectl, 'k8s9zz')
    assert stored.token_secret == 'qwertyuiopasdfgh' and stored.description == 'old'
    assert result['diff']['before']['expires'] is None
    assert result['diff']['after']['expires'] is not None
    assert 'z' * 16 not in result['_raw_output']


def test_diff_shows_no_secret(run_module, kubectl):
    rc, result = run_module(module.main, _args(kubectl, _ansible_diff=True))
    assert rc == 0
    secret_part = result['token'].split('.')[1]
    assert result['diff']['before'] == {}
    assert result['diff']['after']['token_id'] == result['token_id']
    assert secret_part not in json.dumps(result['diff'])


@pytest.mark.parametrize('check_mode', [False, True])
def test_absent_deletes_by_id(run_module, kubectl, check_mode):
    kubectl.add(bt.BootstrapToken('k8s9zz', 'qwertyuiopasdfgh', None, ('signing',), (), ''))
    rc, result = run_module(module.main, _args(kubectl, state='absent', token_id='k8s9zz',
                                               _ansible_check_mode=check_mode))
    assert rc == 0
    assert result['changed'] is True and result['token_id'] == 'k8s9zz'
    assert ('bootstrap-token-k8s9zz' in kubectl.secrets) is check_mode
    assert ('delete' in kubectl.verbs()) is not check_mode


def test_absent_by_token_and_when_already_gone(run_module, kubectl):
    rc, result = run_module(module.main, _args(kubectl, state='absent', token=EXPLICIT))
    assert rc == 0
    assert result['changed'] is False and result['token_id'] == 'k8s9zz'
    assert 'delete' not in kubectl.verbs()
    assert 'qwertyuiopasdfgh' not in result['_raw_output']


@pytest.mark.parametrize('extra, message', [
    ({'token': 'K8S9ZZ.qwertyuiopasdfgh'}, 'before the "." must be 6 characters'),
    ({'ttl': '10'}, "ttl '10' is not a duration"),
    ({'ttl': '1h', 'min_remaining_ttl': '2h'}, 'min_remaining_ttl (2h) must be shorter than ttl'),
    ({'groups': ['system:masters']}, 'must start with "system:bootstrappers:"'),
    ({'token_id': 'k8s9zz'}, 'token_id is for state=absent'),
    ({'state': 'absent', 'token_id': 'nope'}, "token_id 'nope' is not a bootstrap token id"),
    ({'state': 'absent'}, 'state is absent but any of the following are missing: token, token_id'),
    ({'usages': ['signing', 'encryption']}, 'value of usages must be one or more of'),
    ({'wait_timeout': -1}, 'wait_timeout must be 0 or more'),
])
def test_bad_input_fails_before_kubectl_runs(run_module, kubectl, extra, message):
    rc, result = run_module(module.main, _args(kubectl, **extra))
    assert rc == 1 and result['failed']
    assert message in result['msg']
    assert kubectl.calls == []
    assert 'qwertyuiopasdfgh' not in result['_raw_output']


def test_missing_kubeconfig_fails_before_kubectl_runs(run_module, kubectl, tmp_path):
    rc, result = run_module(module.main, {'kubeconfig': str(tmp_path / 'none.conf')})
    assert rc == 1
    assert result['msg'].startswith('kubeconfig %s does not exist' % (tmp_path / 'none.conf'))
    assert kubectl.calls == []


def test_kubectl_not_installed(run_module, kubectl, monkeypatch):
    monkeypatch.setattr(AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: None)
    rc, result = run_module(module.main, _args(kubectl))
    assert rc == 1
    assert result['msg'].startswith('kubectl not found in PATH')
    assert kubectl.calls == []


def test_api_server_not_answering(run_module, kubectl):
    kubectl.ready = False
    rc, result = run_module(module.main, _args(kubectl))
    assert rc == 1
    assert 'did not answer within 0s' in result['msg']
    assert 'last kubectl error: ' + REFUSED in result['msg']
    assert result['stderr'] == REFUSED and result['rc'] == 1
    assert result['cmd'][-3:] == ['get', '--raw', '/readyz']
    assert kubectl.verbs() == ['get']


def test_kubectl_failure_is_reported_with_its_output(run_module, kubectl):
    kubectl.fail['create'] = (1, '', 'Error from server (Forbidden): secrets is forbidden')
    rc, result = run_module(module.main, _args(kubectl))
    assert rc == 1
    assert result['msg'].startswith('creating Secret bootstrap-token-')
    assert result['msg'].endswith('failed (rc=1): Error from server (Forbidden): secrets is '
                                  'forbidden')
    assert result['rc'] == 1 and result['stderr'].startswith('Error from server')
    assert result['cmd'][-5:] == ['create', '--filename', '-', '--output', 'name']


def test_unexpected_errors_carry_a_traceback(run_module, tracebacks_enabled, kubectl, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError('boom')

    monkeypatch.setattr(module, 'plan_present', explode)
    rc, result = run_module(module.main, _args(kubectl))
    assert rc == 1
    assert result['msg'] == 'unexpected error: boom'
    assert 'RuntimeError: boom' in result['exception']
