#!/usr/bin/python
# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bootstrap_token
short_description: Create, reuse or delete a kubeadm bootstrap token
version_added: 0.1.0
description:
  - Runs on a control-plane node and manages kubeadm bootstrap tokens, the C(<id>.<secret>) credentials that
    C(kubeadm join) uses, stored as Secrets C(bootstrap-token-<id>) of type C(bootstrap.kubernetes.io/token) in
    C(kube-system), exactly as C(kubeadm token create) stores them.
  - With O(state=present) and no O(token), an existing token is reused when it has the wanted O(usages) and
    O(groups) and at least O(min_remaining_ttl) of life left; otherwise a new one is made from a
    cryptographically secure random source (Python's C(secrets)).
  - With an explicit O(token), that token is created, or updated when its secret, usages, groups, description or
    remaining lifetime do not match.
  - With O(state=absent), the token with O(token_id) (or the id of O(token)) is deleted.
  - Talks to the API server through C(kubectl --kubeconfig) with argument lists; the Secret, which holds the
    token, reaches kubectl on its standard input, never on its command line.
  - The task must set C(no_log=true) when the result is registered or shown, because the result holds the
    token in clear (see RV(token)).
  - Run it on one control-plane node (C(run_once=true) or a single-host play); the API server is shared, so
    running it on every control-plane node at once could create one token per node.
extends_documentation_fragment:
  - edge.cluster._attributes
  - edge.cluster._attributes.ACTIONGROUP_KUBEADM
  - edge.cluster._kubectl
attributes:
  check_mode:
    support: full
    details:
      - Reads the tokens and reports what would change; creates, updates and deletes nothing.
      - When a new token would be generated, RV(token) and RV(token_id) are V(null) in check mode.
  diff_mode:
    support: full
    details:
      - Shows the token's id, expiration, usages, groups and description before and after; never its secret.
  idempotent:
    support: full
    details:
      - A second run reuses the token the first one made, as long as O(min_remaining_ttl) is shorter than O(ttl).
options:
  state:
    description:
      - V(present) makes sure a usable token exists and returns it; V(absent) deletes one.
    type: str
    default: present
    choices: [present, absent]
  token:
    description:
      - The token, C(<6 of [a-z0-9]>.<16 of [a-z0-9]>), for instance from a vault.
      - Leave unset to reuse or generate one.
      - Never logged. Because it is a secret option, Ansible masks its value wherever it would appear in the
        result, including RV(token).
    type: str
  token_id:
    description:
      - For O(state=absent), the id of the token to delete (the 6 characters before the C(.)).
    type: str
  ttl:
    description:
      - Lifetime of a token created or updated now, as kubeadm writes durations (C(24h), C(30m), C(1h30m)).
      - V(0) makes a token that never expires.
    type: raw
    default: 24h
  min_remaining_ttl:
    description:
      - An existing token is reused only if it lives at least this much longer. A token that never expires always
        qualifies.
      - Must be shorter than O(ttl) (unless O(ttl=0)); otherwise every run would create a new token.
    type: raw
    default: 1h
  usages:
    description:
      - What the token may be used for. A reused token must have exactly these.
    type: list
    elements: str
    choices: [signing, authentication]
    default: [signing, authentication]
  groups:
    description:
      - Extra groups the token authenticates as; each must start with C(system:bootstrappers:). A reused token must
        have exactly these.
    type: list
    elements: str
    default: [system:bootstrappers:kubeadm:default-node-token]
  description:
    description:
      - Human-readable note stored with a token this module creates.
      - When set, an explicit O(token) whose description differs is updated. Reuse of an existing token without
        O(token) ignores descriptions.
      - Defaults to a note naming this module when a token is created.
    type: str
requirements:
  - Python 3.8 or newer on the node.
seealso:
  - module: edge.cluster.ca_cert_hash
  - plugin: edge.cluster.certificate_key
    plugin_type: lookup
  - name: Authenticating with bootstrap tokens
    description: The Secret format this module writes.
    link: https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: A join token with at least 2 hours left (reused when one exists)
  edge.cluster.bootstrap_token:
    ttl: 4h
    min_remaining_ttl: 2h
  register: edge_cluster_join_token
  no_log: true
  become: true
  run_once: true

- name: A token from the vault, valid for 30 minutes
  edge.cluster.bootstrap_token:
    token: "{{ vault_edge_cluster_token }}"
    ttl: 30m
    min_remaining_ttl: 10m
    description: fleet batch 7
  no_log: true
  become: true

- name: Remove it after the fleet joined
  edge.cluster.bootstrap_token:
    state: absent
    token_id: "{{ edge_cluster_join_token.token_id }}"
  become: true

- name: kubectl set once for the group, the credentials for this module
  module_defaults:
    group/edge.cluster.kubeadm:
      kubectl: /usr/local/bin/kubectl
    edge.cluster.bootstrap_token:
      kubeconfig: /etc/kubernetes/super-admin.conf
      wait_timeout: 300
  block:
    - name: Token for the control-plane joins
      edge.cluster.bootstrap_token:
        ttl: 2h
        min_remaining_ttl: 30m
      register: edge_cluster_cp_token
      no_log: true
"""

RETURN = r"""
token:
  description:
    - The bootstrap token C(<id>.<secret>), in clear. Register it only from a task with C(no_log=true).
    - When O(token) was given, Ansible masks this value (it equals a secret option); use your own variable then.
    - V(null) in check mode when a new token would be generated, and for O(state=absent).
  returned: always
  type: str
  sample: abcdef.0123456789abcdef
token_id:
  description: The token's id (not secret), as used by O(token_id) and C(kubeadm token delete).
  returned: always
  type: str
  sample: abcdef
expires:
  description: The token's expiration (RFC 3339, UTC), or V(null) when it never expires.
  returned: when O(state=present)
  type: str
  sample: "2025-01-02T15:04:05Z"
reused:
  description: V(true) when an existing token was returned unchanged.
  returned: when O(state=present)
  type: bool
  sample: true
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edge.cluster.plugins.module_utils._bootstrap_token import (
    DEFAULT_GROUPS,
    DEFAULT_USAGES,
    USAGES,
    BootstrapTokenError,
    create_args,
    delete_args,
    format_rfc3339,
    get_args,
    list_args,
    parse_token,
    plan_present,
    replace_args,
    secret_manifest,
    summary,
    token_from_secret,
    tokens_from_list,
    utc_now,
    validate_groups,
    validate_lifetimes,
    validate_token_id,
    validate_usages,
)
from ansible_collections.edge.cluster.plugins.module_utils._command import CommandError, exit_module
from ansible_collections.edge.cluster.plugins.module_utils._duration import (
    DurationError,
    parse_duration,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubectl import (
    KUBECTL_COMMON_ARGS,
    kubectl_from_module,
)


def _json(stdout, what):
    try:
        return json.loads(stdout)
    except ValueError:
        raise CommandError('%s: kubectl printed something that is not JSON' % what, stdout=stdout)


def _check_inputs(module):
    """Validate every option before anything on the node is touched."""
    params = module.params
    inputs = {}
    try:
        if params['token'] is not None:
            token_id = parse_token(params['token'])[0]
        elif params['token_id'] is not None:
            if params['state'] == 'present':
                raise BootstrapTokenError('token_id is for state=absent; for state=present give '
                                          'token, or neither to reuse or generate one')
            token_id = validate_token_id(params['token_id'])
        else:
            token_id = None
        inputs['token_id'] = token_id
        inputs['ttl'] = parse_duration(params['ttl'], 'ttl')
        inputs['min_remaining'] = parse_duration(params['min_remaining_ttl'], 'min_remaining_ttl')
        validate_lifetimes(inputs['ttl'], inputs['min_remaining'])
        inputs['usages'] = validate_usages(params['usages'])
        inputs['groups'] = validate_groups(params['groups'])
    except (BootstrapTokenError, DurationError) as exc:
        module.fail_json(msg=str(exc))
    return inputs


def _present(module, kubectl, inputs):
    params = module.params
    listing = kubectl.check(list_args(), 'listing bootstrap tokens in kube-system')
    existing = tokens_from_list(_json(listing, 'listing bootstrap tokens'))
    try:
        plan = plan_present(existing, utc_now(), inputs['ttl'], inputs['min_remaining'],
                            inputs['usages'], inputs['groups'], params['description'],
                            params['token'])
    except BootstrapTokenError as exc:
        module.fail_json(msg=str(exc))
    token = plan.token
    result = dict(
        changed=plan.action != 'none',
        reused=plan.reused,
        token='%s.%s' % (token.token_id, token.token_secret),
        token_id=token.token_id,
        expires=format_rfc3339(token.expires) if token.expires else None,
    )
    if module._diff:
        before = plan.before if plan.action == 'replace' else (token if plan.reused else None)
        result['diff'] = dict(before=summary(before), after=summary(token))
    if plan.action == 'none':
        return result
    if module.check_mode:
        if params['token'] is None:
            result.update(token=None, token_id=None)
        return result
    manifest = json.dumps(secret_manifest(token))
    name = 'bootstrap-token-%s' % token.token_id
    if plan.action == 'create':
        kubectl.check(create_args(), 'creating Secret %s' % name, data=manifest)
    else:
        kubectl.check(replace_args(), 'updating Secret %s' % name, data=manifest)
    stored = kubectl.check(get_args(token.token_id), 'reading back Secret %s' % name)
    if not stored.strip():
        raise CommandError('Secret %s is missing right after kubectl stored it' % name)
    try:
        check = token_from_secret(_json(stored, 'reading back Secret %s' % name))
    except BootstrapTokenError as exc:
        raise CommandError('Secret %s does not read back as a token: %s' % (name, exc))
    if check != token:
        raise CommandError('Secret %s reads back different from what was stored: another '
                           'writer changed it at the same time; run again' % name)
    return result


def _absent(module, kubectl, inputs):
    token_id = inputs['token_id']
    name = 'bootstrap-token-%s' % token_id
    found = kubectl.check(get_args(token_id), 'looking up Secret %s' % name).strip()
    result = dict(changed=bool(found), token=None, token_id=token_id)
    if module._diff:
        before = {}
        if found:
            try:
                before = summary(token_from_secret(_json(found, 'reading Secret %s' % name)))
            except BootstrapTokenError:
                before = {'token_id': token_id}
        result['diff'] = dict(before=before, after={})
    if found and not module.check_mode:
        kubectl.check(delete_args(token_id), 'deleting Secret %s' % name)
    return result


def main():
    argument_spec = dict(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        token=dict(type='str', no_log=True),
        token_id=dict(type='str'),
        ttl=dict(type='raw', default='24h'),
        min_remaining_ttl=dict(type='raw', default='1h'),
        usages=dict(type='list', elements='str', choices=list(USAGES),
                    default=list(DEFAULT_USAGES)),
        groups=dict(type='list', elements='str', default=list(DEFAULT_GROUPS)),
        description=dict(type='str'),
    )
    argument_spec.update(KUBECTL_COMMON_ARGS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('token', 'token_id')],
        required_if=[('state', 'absent', ('token', 'token_id'), True)],
        supports_check_mode=True,
    )
    exit_module(module, _run_module)


def _run_module(module):
    inputs = _check_inputs(module)
    kubectl = kubectl_from_module(module)
    kubectl.wait_ready(module.params['wait_timeout'])
    if module.params['state'] == 'present':
        return _present(module, kubectl, inputs)
    return _absent(module, kubectl, inputs)


if __name__ == '__main__':
    main()
