# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import datetime
import itertools

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _bootstrap_token as bt

UTC = datetime.timezone.utc
NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
TOKEN = 'abcdef.0123456789abcdef'
SECRET_PART = '0123456789abcdef'
USAGES = ('authentication', 'signing')
GROUPS = ('system:bootstrappers:kubeadm:default-node-token',)


def _token(token_id='abcdef', expires=NOW + 10 * HOUR, usages=USAGES, groups=GROUPS,
           secret='0123456789abcdef', description='d'):
    return bt.BootstrapToken(token_id, secret, expires, usages, groups, description)


# --- parsing and validation ---

def test_parse_token():
    assert bt.parse_token(TOKEN) == ('abcdef', SECRET_PART)


@pytest.mark.parametrize('token, problem', [
    ('k8s9zzqwertyuiopasdfgh', 'no "." between'),
    ('K8S9ZZ.qwertyuiopasdfgh', 'before the "." must be 6'),
    ('k8s9z.qwertyuiopasdfgh', 'before the "." must be 6'),
    ('k8s9zz.qwertyuiopasdfg', 'after the "." must be 16'),
    ('k8s9zz.qwertyuiopasdfgH', 'after the "." must be 16'),
    ('k8s9zz.qwertyuiopasdfgh\n', 'after the "." must be 16'),
    ('k8s_zz.qwertyuiopasdfgh', 'before the "." must be 6'),
    ('', 'no "." between'),
])
def test_parse_token_refuses_without_echoing(token, problem):
    with pytest.raises(bt.BootstrapTokenError) as caught:
        bt.parse_token(token)
    message = str(caught.value)
    assert problem in message
    assert 'value not shown' in message
    if len(token) > 6:
        assert token.strip() not in message
        assert token.split('.')[-1].strip() not in message


def test_parse_token_refuses_non_strings():
    with pytest.raises(bt.BootstrapTokenError, match='must be a string'):
        bt.parse_token(12345)


@pytest.mark.parametrize('token_id, ok', [
    ('abcdef', True), ('a1b2c3', True), ('abcde', False), ('ABCDEF', False),
    ('abcdefg', False), (None, False),
])
def test_validate_token_id(token_id, ok):
    if ok:
        assert bt.validate_token_id(token_id) == token_id
    else:
        with pytest.raises(bt.BootstrapTokenError, match='not a bootstrap token id'):
            bt.validate_token_id(token_id)


@pytest.mark.parametrize('groups, ok', [
    (['system:bootstrappers:kubeadm:default-node-token'], True),
    (['system:bootstrappers:edge'], True),
    (['system:masters'], False),
    (['system:bootstrappers:'], False),
    (['system:bootstrappers:Edge'], False),
])
def test_validate_groups(groups, ok):
    if ok:
        assert bt.validate_groups(groups) == tuple(groups)
    else:
        with pytest.raises(bt.BootstrapTokenError, match='must start with'):
            bt.validate_groups(groups)


@pytest.mark.parametrize('usages, ok', [
    (['signing', 'authentication'], True), (['signing'], True), ([], False), (['sign'], False),
])
def test_validate_usages(usages, ok):
    if ok:
        assert bt.validate_usages(usages) == tuple(sorted(usages))
    else:
        with pytest.raises(bt.BootstrapTokenError, match='usages must be'):
            bt.validate_usages(usages)


# --- generation ---

def test_generate_token_format_and_spread():
    tokens = [bt.generate_token() for dummy in range(200)]
    for token in tokens:
        assert bt.TOKEN_RE.match(token)
    assert len(set(tokens)) == 200
    # every letter of the alphabet shows up across 4400 draws (a fixed or narrow source fails)
    assert set(''.join(tokens).replace('.', '')) == set(bt.TOKEN_ALPHABET)


def test_generate_token_draws_from_secrets(monkeypatch):
    drawn = []

    def fake_choice(alphabet):
        assert alphabet == bt.TOKEN_ALPHABET
        drawn.append(alphabet)
        return 'q'

    monkeypatch.setattr(bt.secrets, 'choice', fake_choice)
    assert bt.generate_token() == 'qqqqqq.qqqqqqqqqqqqqqqq'
    assert len(drawn) == 22


def test_generate_token_avoids_taken_ids(monkeypatch):
    letters = itertools.chain('aaaaaa', 'bbbbbb', 'cccccccccccccccc')
    monkeypatch.setattr(bt.secrets, 'choice', lambda alphabet: next(letters))
    assert bt.generate_token(taken_ids=['aaaaaa']) == 'bbbbbb.cccccccccccccccc'


# --- time ---

@pytest.mark.parametrize('ttl, expected', [
    (datetime.timedelta(0), None),
    (datetime.timedelta(hours=24), datetime.datetime(2025, 3, 2, 12, 0, tzinfo=UTC)),
    (datetime.timedelta(minutes=30, microseconds=700),
     datetime.datetime(2025, 3, 1, 12, 30, tzinfo=UTC)),
])
def test_expiry_for(ttl, expected):
    assert bt.expiry_for(NOW, ttl) == expected


@pytest.mark.parametrize('text, expected', [
    ('2025-03-01T12:00:00Z', NOW),
    ('2025-03-01T13:00:00+01:00', NOW),
    ('2025-03-01T06:30:00-05:30', NOW),
    ('2025-03-01t12:00:00.250z', NOW + datetime.timedelta(milliseconds=250)),
])
def test_parse_rfc3339(text, expected):
    assert bt.parse_rfc3339(text) == expected


@pytest.mark.parametrize('text', ['2025-03-01 12:00:00', '2025-03-01T12:00:00', '',
                                  '2025-02-30T12:00:00Z', 'tomorrow'])
def test_parse_rfc3339_refuses(text):
    with pytest.raises(bt.BootstrapTokenError):
        bt.parse_rfc3339(text)


def test_format_rfc3339_is_utc():
    zone = datetime.timezone(datetime.timedelta(hours=8))
    assert bt.format_rfc3339(datetime.datetime(2025, 3, 1, 20, 0, tzinfo=zone)) == \
        '2025-03-01T12:00:00Z'


# --- Secret round trip ---

def test_secret_manifest_is_what_kubeadm_writes():
    manifest = bt.secret_manifest(_token(description='fleet batch 7'))
    assert manifest['metadata'] == {'name': 'bootstrap-token-abcdef', 'namespace': 'kube-system'}
    assert manifest['type'] == 'bootstrap.kubernetes.io/token'
    data = {key: base64.b64decode(value).decode() for key, value in manifest['data'].items()}
    assert data == {
        'token-id': 'abcdef',
        'token-secret': SECRET_PART,
        'expiration': '2025-03-01T22:00:00Z',
        'usage-bootstrap-signing': 'true',
        'usage-bootstrap-authentication': 'true',
        'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
        'description': 'fleet batch 7',
    }


def test_secret_manifest_never_expiring_has_no_expiration():
    manifest = bt.secret_manifest(_token(expires=None, usages=('signing',), groups=(),
                                         description=''))
    assert set(manifest['data']) == {'token-id', 'token-secret', 'usage-bootstrap-signing'}


@pytest.mark.parametrize('token', [
    _token(),
    _token(expires=None),
    _token(usages=('signing',), groups=('system:bootstrappers:a', 'system:bootstrappers:b')),
])
def test_token_from_secret_round_trip(token):
    assert bt.token_from_secret(bt.secret_manifest(token)) == token


def test_token_from_secret_reads_kubeadm_style_secret():
    """As kubeadm writes it: local-time offset, usage 'false' entries, spaces in groups."""
    def enc(text):
        return base64.b64encode(text.encode()).decode()
    secret = {
        'metadata': {'name': 'bootstrap-token-k8s123'},
        'type': 'bootstrap.kubernetes.io/token',
        'data': {
            'token-id': enc('k8s123'), 'token-secret': enc('aaaabbbbccccdddd'),
            'expiration': enc('2025-03-01T14:00:00+02:00'),
            'usage-bootstrap-signing': enc('true'),
            'usage-bootstrap-authentication': enc('false'),
            'auth-extra-groups': enc('system:bootstrappers:b, system:bootstrappers:a'),
        },
    }
    token = bt.token_from_secret(secret)
    assert token.expires == NOW
    assert token.usages == ('signing',)
    assert token.groups == ('system:bootstrappers:a', 'system:bootstrappers:b')
    assert token.description == ''


@pytest.mark.parametrize('mutate, message', [
    (lambda s: s.update(type='Opaque'), 'not of type'),
    (lambda s: s['data'].pop('token-secret'), 'no data.token-secret'),
    (lambda s: s['data'].update({'token-id': 'bm9wZQ=='}), 'well-formed'),
    (lambda s: s['data'].update({'expiration': 'bm90IGEgZGF0ZQ=='}), 'RFC 3339'),
    (lambda s: s['data'].update({'token-secret': '***'}), 'base64'),
])
def test_token_from_secret_refuses_malformed(mutate, message):
    secret = bt.secret_manifest(_token())
    mutate(secret)
    with pytest.raises(bt.BootstrapTokenError, match=message):
        bt.token_from_secret(secret)


def test_tokens_from_list_skips_malformed():
    good = bt.secret_manifest(_token())
    bad = bt.secret_manifest(_token(token_id='zzzzzz'))
    bad['data'].pop('token-secret')
    assert bt.tokens_from_list({'items': [bad, good]}) == [_token()]


# --- reuse decision ---

@pytest.mark.parametrize('token, problem', [
    (_token(), None),
    (_token(expires=None), None),
    (_token(expires=NOW + 2 * HOUR), None),
    (_token(expires=NOW + 2 * HOUR - datetime.timedelta(seconds=1)), 'expires at'),
    (_token(expires=NOW - HOUR), 'expires at'),
    (_token(usages=('signing',)), 'usages signing'),
    (_token(usages=('authentication', 'signing')), None),
    (_token(groups=()), 'groups'),
    (_token(groups=GROUPS + ('system:bootstrappers:extra',)), 'groups'),
])
def test_reuse_problem(token, problem):
    found = bt.reuse_problem(token, NOW, 2 * HOUR, USAGES, GROUPS)
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_choose_reusable_prefers_longest_lived():
    short = _token('aaaaaa', expires=NOW + 3 * HOUR)
    long = _token('bbbbbb', expires=NOW + 20 * HOUR)
    never = _token('cccccc', expires=None)
    expired = _token('dddddd', expires=NOW - HOUR)
    assert bt.choose_reusable([short, long, expired], NOW, HOUR, USAGES, GROUPS) == long
    assert bt.choose_reusable([short, never, long], NOW, HOUR, USAGES, GROUPS) == never
    assert bt.choose_reusable([expired], NOW, HOUR, USAGES, GROUPS) is None
    assert bt.choose_reusable([], NOW, HOUR, USAGES, GROUPS) is None


# --- planning state=present ---

def _plan(existing, token=None, ttl=24 * HOUR, min_remaining=HOUR, description=None,
          usages=USAGES, groups=GROUPS):
    return bt.plan_present(existing, NOW, ttl, min_remaining, list(usages), list(groups),
                           description, token)


def test_plan_reuses_a_good_token():
    plan = _plan([_token()])
    assert (plan.action, plan.reused, plan.token) == ('none', True, _token())


def test_plan_creates_when_nothing_fits(monkeypatch):
    monkeypatch.setattr(bt, 'generate_token', lambda taken_ids=(): 'newtok.ssssssssssssssss')
    plan = _plan([_token(expires=NOW + datetime.timedelta(minutes=5))])
    assert plan.action == 'create' and not plan.reused
    assert plan.token == bt.BootstrapToken('newtok', 'ssssssssssssssss', NOW + 24 * HOUR, USAGES,
                                           GROUPS, bt.DEFAULT_DESCRIPTION)


def test_plan_new_token_never_expires_with_ttl_zero():
    plan = _plan([], ttl=datetime.timedelta(0))
    assert plan.action == 'create' and plan.token.expires is None


def test_plan_refuses_min_remaining_not_below_ttl():
    with pytest.raises(bt.BootstrapTokenError, match='must be shorter than ttl'):
        _plan([], ttl=HOUR, min_remaining=HOUR)


def test_plan_explicit_token_created_then_kept():
    plan = _plan([], token=TOKEN, description='mine')
    assert plan.action == 'create'
    assert plan.token.token_secret == SECRET_PART and plan.token.description == 'mine'
    again = _plan([plan.token], token=TOKEN, description='mine')
    assert (again.action, again.reused) == ('none', True)


@pytest.mark.parametrize('current', [
    _token(secret='ffffffffffffffff'),
    _token(expires=NOW + datetime.timedelta(minutes=30)),
    _token(usages=('signing',)),
    _token(description='other'),
])
def test_plan_explicit_token_replaced_when_it_differs(current):
    plan = _plan([current], token=TOKEN, description='d')
    assert plan.action == 'replace' and plan.before == current
    assert plan.token == _token(expires=NOW + 24 * HOUR)


def test_plan_explicit_token_keeps_description_when_not_given():
    plan = _plan([_token(secret='ffffffffffffffff', description='kubeadm init')], token=TOKEN)
    assert plan.action == 'replace' and plan.token.description == 'kubeadm init'


# --- what may be shown, and kubectl argv ---

def test_summary_has_no_secret():
    shown = bt.summary(_token())
    assert SECRET_PART not in repr(shown)
    assert shown == {'token_id': 'abcdef', 'expires': '2025-03-01T22:00:00Z',
                     'usages': list(USAGES), 'groups': list(GROUPS), 'description': 'd'}
    assert bt.summary(None) == {}


@pytest.mark.parametrize('args, expected', [
    (bt.list_args(), ['--namespace', 'kube-system', 'get', 'secrets', '--field-selector',
                      'type=bootstrap.kubernetes.io/token', '--output', 'json']),
    (bt.get_args('abcdef'), ['--namespace', 'kube-system', 'get', 'secret',
                             'bootstrap-token-abcdef', '--ignore-not-found', '--output', 'json']),
    (bt.create_args(), ['--namespace', 'kube-system', 'create', '--filename', '-',
                        '--output', 'name']),
    (bt.replace_args(), ['--namespace', 'kube-system', 'replace', '--filename', '-',
                         '--output', 'name']),
    (bt.delete_args('abcdef'), ['--namespace', 'kube-system', 'delete', 'secret',
                                'bootstrap-token-abcdef', '--ignore-not-found', '--wait=false']),
])
def test_kubectl_args(args, expected):
    assert args == expected
