# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""kubeadm bootstrap tokens as kubeadm stores them: Secrets "bootstrap-token-<id>" of type
bootstrap.kubernetes.io/token in kube-system (k8s.io/cluster-bootstrap, kubeadm's
bootstraptoken/v1 helpers). Pure functions: parsing, generation, expiry arithmetic, the
reuse decision, manifests and kubectl argument lists. Messages never contain a token secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import secrets
from collections import namedtuple

from ansible_collections.edge.cluster.plugins.module_utils._duration import format_duration

NAMESPACE = 'kube-system'
SECRET_TYPE = 'bootstrap.kubernetes.io/token'
SECRET_NAME_PREFIX = 'bootstrap-token-'
TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
TOKEN_ID_LENGTH = 6
TOKEN_SECRET_LENGTH = 16
USAGES = ('signing', 'authentication')
DEFAULT_USAGES = ['signing', 'authentication']
DEFAULT_GROUPS = ['system:bootstrappers:kubeadm:default-node-token']
DEFAULT_DESCRIPTION = 'Bootstrap token managed by edge.cluster.bootstrap_token'

TOKEN_RE = re.compile(r'^([a-z0-9]{6})\.([a-z0-9]{16})\Z')
TOKEN_ID_RE = re.compile(r'^[a-z0-9]{6}\Z')
TOKEN_SECRET_RE = re.compile(r'^[a-z0-9]{16}\Z')
# kubeadm's BootstrapGroupPattern (k8s.io/cluster-bootstrap/token/api)
GROUP_RE = re.compile(r'^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\Z')
_RFC3339_RE = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z')

BootstrapToken = namedtuple(
    'BootstrapToken', ['token_id', 'token_secret', 'expires', 'usages', 'groups', 'description'])
"""expires: aware UTC datetime, or None for a token that never expires.
usages, groups: sorted tuples."""

Plan = namedtuple('Plan', ['action', 'token', 'reused', 'before'])
"""action: 'none', 'create' or 'replace'; token: the BootstrapToken the node ends up with;
reused: an existing token is returned as it is; before: the existing token replaced, or None."""


class BootstrapTokenError(ValueError):
    """Bad input for a bootstrap token; the message never shows the secret."""


def parse_token(token):
    """Split "abcdef.0123456789abcdef" into (token_id, token_secret) or raise."""
    if not isinstance(token, str):
        raise BootstrapTokenError('token must be a string of the form [a-z0-9]{6}.[a-z0-9]{16}')
    match = TOKEN_RE.match(token)
    if match:
        return match.group(1), match.group(2)
    problems = []
    if '.' not in token:
        problems.append('there is no "." between the id and the secret')
    else:
        token_id, token_secret = token.split('.', 1)
        if not TOKEN_ID_RE.match(token_id):
            problems.append('the part before the "." must be 6 characters from [a-z0-9]')
        if not TOKEN_SECRET_RE.match(token_secret):
            problems.append('the part after the "." must be 16 characters from [a-z0-9]')
    raise BootstrapTokenError(
        'token is not a bootstrap token (value not shown: it is secret): %s. Expected '
        '[a-z0-9]{6}.[a-z0-9]{16}, e.g. abcdef.0123456789abcdef; leave token unset to have '
        'one generated' % '; '.join(problems))


def validate_token_id(token_id):
    if not isinstance(token_id, str) or not TOKEN_ID_RE.match(token_id):
        raise BootstrapTokenError(
            'token_id %r is not a bootstrap token id: expected 6 characters from [a-z0-9], the '
            'part of the token before the "."' % (token_id,))
    return token_id


def validate_groups(groups):
    bad = [group for group in groups if not GROUP_RE.match(group)]
    if bad:
        raise BootstrapTokenError(
            'groups %s do not match %s: bootstrap token groups must start with '
            '"system:bootstrappers:", e.g. system:bootstrappers:kubeadm:default-node-token'
            % (', '.join(repr(group) for group in bad), GROUP_RE.pattern))
    return tuple(sorted(set(groups)))


def validate_usages(usages):
    bad = [usage for usage in usages if usage not in USAGES]
    if bad or not usages:
        raise BootstrapTokenError('usages must be a non-empty list from %s, got %r'
                                  % (', '.join(USAGES), list(usages)))
    return tuple(sorted(set(usages)))


def validate_lifetimes(ttl, min_remaining):
    """A token made now must pass its own reuse test, or every run would make another."""
    if ttl and min_remaining >= ttl:
        raise BootstrapTokenError(
            'min_remaining_ttl (%s) must be shorter than ttl (%s), or a new token would never be '
            'reused and every run would create one; lower min_remaining_ttl or raise ttl'
            % (format_duration(min_remaining), format_duration(ttl)))


def _random_string(length):
    # secrets.choice: a CSPRNG and no modulo bias over the 36-letter alphabet.
    return ''.join(secrets.choice(TOKEN_ALPHABET) for dummy in range(length))


def generate_token(taken_ids=()):
    """A new "<id>.<secret>" from the secrets module, with an id not in taken_ids."""
    taken = set(taken_ids)
    for dummy in range(100):
        token_id = _random_string(TOKEN_ID_LENGTH)
        if token_id not in taken:
            return '%s.%s' % (token_id, _random_string(TOKEN_SECRET_LENGTH))
    raise BootstrapTokenError('could not draw a token id not already in use after 100 tries')


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def format_rfc3339(moment):
    """'2006-01-02T15:04:05Z' (UTC, whole seconds), as kubeadm writes expirations."""
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_rfc3339(text):
    """Aware datetime of an RFC 3339 timestamp ('Z' or '+hh:mm' offsets, optional fraction)."""
    match = _RFC3339_RE.match(text or '')
    if not match:
        raise BootstrapTokenError('expiration %r is not an RFC 3339 timestamp' % (text,))
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    if offset in ('Z', 'z'):
        zone = datetime.timezone.utc
    else:
        sign = 1 if offset[0] == '+' else -1
        zone = datetime.timezone(sign * datetime.timedelta(
            hours=int(offset[1:3]), minutes=int(offset[4:6])))
    microsecond = int((fraction[1:] + '000000')[:6]) if fraction else 0
    try:
        return datetime.datetime(year, month, day, hour, minute, second, microsecond, zone)
    except ValueError as exc:
        raise BootstrapTokenError('expiration %r is not a valid time: %s' % (text, exc))


def expiry_for(now, ttl):
    """Expiration of a token created at now with lifetime ttl (timedelta); None when ttl is 0."""
    if not ttl:
        return None
    return (now + ttl).replace(microsecond=0)


def remaining(token, now):
    """Lifetime left (timedelta), or None when the token never expires."""
    if token.expires is None:
        return None
    return token.expires - now


def _decode_field(data, key):
    try:
        return base64.b64decode(data[key], validate=True).decode('utf-8')
    except (binascii.Error, ValueError, TypeError):
        raise BootstrapTokenError('data.%s is not base64 UTF-8' % key)


def token_from_secret(secret):
    """BootstrapToken from a Secret object (dict as in kubectl -o json); raise if malformed."""
    name = secret.get('metadata', {}).get('name', '')
    if secret.get('type') != SECRET_TYPE:
        raise BootstrapTokenError('secret %s is not of type %s' % (name, SECRET_TYPE))
    data = secret.get('data') or {}
    for key in ('token-id', 'token-secret'):
        if key not in data:
            raise BootstrapTokenError('secret %s has no data.%s' % (name, key))
    token_id = _decode_field(data, 'token-id')
    token_secret = _decode_field(data, 'token-secret')
    if name != SECRET_NAME_PREFIX + token_id or not TOKEN_ID_RE.match(token_id) \
            or not TOKEN_SECRET_RE.match(token_secret):
        raise BootstrapTokenError('secret %s does not hold a well-formed token' % name)
    expires = None
    if 'expiration' in data:
        expires = parse_rfc3339(_decode_field(data, 'expiration'))
        expires = expires.astimezone(datetime.timezone.utc)
    usages = tuple(sorted(
        usage for usage in USAGES
        if 'usage-bootstrap-' + usage in data
        and _decode_field(data, 'usage-bootstrap-' + usage) == 'true'))
    groups = ()
    if 'auth-extra-groups' in data:
        groups = tuple(sorted(set(
            group.strip() for group in _decode_field(data, 'auth-extra-groups').split(',')
            if group.strip())))
    description = _decode_field(data, 'description') if 'description' in data else ''
    return BootstrapToken(token_id, token_secret, expires, usages, groups, description)


def tokens_from_list(secret_list):
    """Well-formed tokens of a kubectl 'get secrets -o json' List; malformed ones are skipped
    (the API server's authenticator ignores them too)."""
    tokens = []
    for item in secret_list.get('items', []):
        try:
            tokens.append(token_from_secret(item))
        except BootstrapTokenError:
            continue
    return tokens


def reuse_problem(token, now, min_remaining, usages, groups):
    """Why token cannot serve (str), or None when it has the usages, groups and lifetime."""
    if tuple(token.usages) != tuple(usages):
        return 'usages %s, wanted %s' % (','.join(token.usages), ','.join(usages))
    if tuple(token.groups) != tuple(groups):
        return 'groups %s, wanted %s' % (','.join(token.groups), ','.join(groups))
    left = remaining(token, now)
    if left is not None and left < min_remaining:
        return 'expires at %s, less than the wanted remaining lifetime' % format_rfc3339(
            token.expires)
    return None


def choose_reusable(tokens, now, min_remaining, usages, groups):
    """The usable token that lives longest (never-expiring first; ties by id), or None."""
    usable = [token for token in tokens
              if reuse_problem(token, now, min_remaining, usages, groups) is None]
    if not usable:
        return None
    never = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)
    return max(usable, key=lambda token: (token.expires or never, token.token_id))


def plan_present(existing, now, ttl, min_remaining, usages, groups, description=None,
                 token=None):
    """Decide what state=present does, without side effects.

    existing: BootstrapTokens in the cluster. token: explicit "<id>.<secret>" or None (then an
    existing token is reused when reuse_problem() finds nothing wrong, else one is generated).
    description None means "don't care" for reuse and DEFAULT_DESCRIPTION for a new token.
    """
    usages = validate_usages(usages)
    groups = validate_groups(groups)
    validate_lifetimes(ttl, min_remaining)
    new_description = DEFAULT_DESCRIPTION if description is None else description
    if token is None:
        found = choose_reusable(existing, now, min_remaining, usages, groups)
        if found is not None:
            return Plan('none', found, True, None)
        token_id, token_secret = parse_token(generate_token(t.token_id for t in existing))
        fresh = BootstrapToken(token_id, token_secret, expiry_for(now, ttl), usages, groups,
                               new_description)
        return Plan('create', fresh, False, None)
    token_id, token_secret = parse_token(token)
    current = next((t for t in existing if t.token_id == token_id), None)
    wanted = BootstrapToken(token_id, token_secret, expiry_for(now, ttl), usages, groups,
                            new_description)
    if current is None:
        return Plan('create', wanted, False, None)
    same = (secrets.compare_digest(current.token_secret, token_secret)
            and (description is None or current.description == description)
            and reuse_problem(current, now, min_remaining, usages, groups) is None)
    if same:
        return Plan('none', current, True, None)
    if description is None:
        wanted = wanted._replace(description=current.description or DEFAULT_DESCRIPTION)
    return Plan('replace', wanted, False, current)


def _b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def secret_manifest(token):
    """The Secret kubeadm would write for token (data base64-encoded, as kubeadm does)."""
    data = {
        'token-id': _b64(token.token_id),
        'token-secret': _b64(token.token_secret),
    }
    if token.expires is not None:
        data['expiration'] = _b64(format_rfc3339(token.expires))
    for usage in token.usages:
        data['usage-bootstrap-' + usage] = _b64('true')
    if token.groups:
        data['auth-extra-groups'] = _b64(','.join(token.groups))
    if token.description:
        data['description'] = _b64(token.description)
    return {
        'apiVersion': 'v1',
        'kind': 'Secret',
        'metadata': {'name': SECRET_NAME_PREFIX + token.token_id, 'namespace': NAMESPACE},
        'type': SECRET_TYPE,
        'data': data,
    }


def summary(token):
    """What may be shown about a token (diff, results): everything but its secret."""
    if token is None:
        return {}
    return {
        'token_id': token.token_id,
        'expires': format_rfc3339(token.expires) if token.expires else None,
        'usages': list(token.usages),
        'groups': list(token.groups),
        'description': token.description,
    }


# kubectl argument lists (after the global flags Kubectl.argv adds)

def list_args():
    return ['--namespace', NAMESPACE, 'get', 'secrets',
            '--field-selector', 'type=' + SECRET_TYPE, '--output', 'json']


def get_args(token_id):
    return ['--namespace', NAMESPACE, 'get', 'secret', SECRET_NAME_PREFIX + token_id,
            '--ignore-not-found', '--output', 'json']


def create_args():
    """The manifest (with the secret) goes on stdin: '-f -'."""
    return ['--namespace', NAMESPACE, 'create', '--filename', '-', '--output', 'name']


def replace_args():
    return ['--namespace', NAMESPACE, 'replace', '--filename', '-', '--output', 'name']


def delete_args(token_id):
    return ['--namespace', NAMESPACE, 'delete', 'secret', SECRET_NAME_PREFIX + token_id,
            '--ignore-not-found', '--wait=false']
