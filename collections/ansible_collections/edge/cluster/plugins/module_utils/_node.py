# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Node objects as `kubectl get nodes -o json` returns them: summaries (Ready, roles,
addresses), and the label/annotation/taint changes node_label makes, planned as JSON merge
patches guarded by resourceVersion. Pure functions; kubectl argv lists at the end.
"""

from __future__ import annotations

import copy
import json
import re

TAINT_EFFECTS = ('NoSchedule', 'PreferNoSchedule', 'NoExecute')
CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane'

# k8s.io/apimachinery validation: qualified names and label values.
_NAME_PART_RE = re.compile(r'^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z')
_DNS_SUBDOMAIN_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z')
_LABEL_VALUE_RE = re.compile(r'^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?\Z')


class NodeSpecError(ValueError):
    """Bad input for node_label; the message names the node, the key and the fix."""


def validate_key(key, what, node):
    """A qualified name: [prefix/]name, prefix a DNS subdomain, name up to 63 characters."""
    if not isinstance(key, str) or not key:
        raise NodeSpecError('node %s: %s key %r must be a non-empty string' % (node, what, key))
    prefix, dummy, name = key.rpartition('/')
    bad_prefix = prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix))
    if ('/' in key and not prefix) or bad_prefix:
        raise NodeSpecError('node %s: %s key %r has an invalid prefix: it must be a lower-case '
                            'DNS subdomain such as superedge.io' % (node, what, key))
    if len(name) > 63 or not _NAME_PART_RE.match(name):
        raise NodeSpecError('node %s: %s key %r: the name part must be 1-63 characters of '
                            '[A-Za-z0-9-_.], starting and ending with a letter or digit'
                            % (node, what, key))
    return key


def validate_label_value(value, key, node):
    if value is None:
        return None
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    value = str(value)
    if len(value) > 63 or not _LABEL_VALUE_RE.match(value):
        raise NodeSpecError('node %s: label %s=%r: values are at most 63 characters of '
                            '[A-Za-z0-9-_.], starting and ending with a letter or digit'
                            % (node, key, value))
    return value


def _taint(item, node, state):
    if not isinstance(item, dict) or not item.get('key'):
        raise NodeSpecError('node %s: each taint needs at least a key, e.g. {key: edge, value: '
                            'true, effect: NoSchedule}; got %r' % (node, item))
    extra = set(item) - {'key', 'value', 'effect', 'state'}
    if extra:
        raise NodeSpecError('node %s: taint %s has unknown fields %s (allowed: key, value, '
                            'effect, state)' % (node, item['key'], ', '.join(sorted(extra))))
    key = validate_key(item['key'], 'taint', node)
    effect = item.get('effect')
    taint_state = item.get('state', state)
    if taint_state not in ('present', 'absent'):
        raise NodeSpecError('node %s: taint %s state must be present or absent' % (node, key))
    if effect is None and taint_state == 'present':
        raise NodeSpecError('node %s: taint %s needs an effect (%s)'
                            % (node, key, ', '.join(TAINT_EFFECTS)))
    if effect is not None and effect not in TAINT_EFFECTS:
        raise NodeSpecError('node %s: taint %s effect %r is not one of %s'
                            % (node, key, effect, ', '.join(TAINT_EFFECTS)))
    value = item.get('value')
    if value is not None:
        value = validate_label_value(value, key, node)
    return {'key': key, 'value': value, 'effect': effect, 'state': taint_state}


def _mapping(value, what, node, state, label_values):
    """{key: value-or-None} from a dict, or from a list of keys (only for removal)."""
    if value is None:
        return {}
    if isinstance(value, list):
        if state != 'absent':
            raise NodeSpecError('node %s: %s must be a dict {key: value} with state=present (a '
                                'list of keys is for state=absent)' % (node, what))
        value = dict((key, None) for key in value)
    if not isinstance(value, dict):
        raise NodeSpecError('node %s: %s must be a dict, got %s' % (node, what, type(value).__name__))
    result = {}
    for key, item in value.items():
        validate_key(key, what[:-1], node)
        if state == 'absent':
            result[key] = None
        elif label_values:
            result[key] = validate_label_value(item, key, node)
        else:
            result[key] = None if item is None else str(item)
    return result


def validate_nodes(nodes, state):
    """Normalise node_label's nodes option: {name: {labels, annotations, taints}}."""
    if not isinstance(nodes, dict) or not nodes:
        raise NodeSpecError('nodes must be a non-empty dict {node name: {labels: {...}, '
                            'annotations: {...}, taints: [...]}}')
    result = {}
    for name, spec in nodes.items():
        if not isinstance(name, str) or not _DNS_SUBDOMAIN_RE.match(name):
            raise NodeSpecError('node name %r is not a valid Node name' % (name,))
        spec = spec or {}
        if not isinstance(spec, dict):
            raise NodeSpecError('node %s: expected a dict with labels, annotations, taints' % name)
        extra = set(spec) - {'labels', 'annotations', 'taints'}
        if extra:
            raise NodeSpecError('node %s: unknown keys %s (allowed: labels, annotations, taints)'
                                % (name, ', '.join(sorted(extra))))
        taints = spec.get('taints') or []
        if not isinstance(taints, list):
            raise NodeSpecError('node %s: taints must be a list' % name)
        result[name] = {
            'labels': _mapping(spec.get('labels'), 'labels', name, state, True),
            'annotations': _mapping(spec.get('annotations'), 'annotations', name, state, False),
            'taints': [_taint(item, name, state) for item in taints],
        }
    return result


# ---------------------------------------------------------------- live objects

def nodes_by_name(node_list):
    """{name: node} of a kubectl 'get nodes -o json' List."""
    return dict((item['metadata']['name'], item) for item in node_list.get('items', []))


def is_ready(node):
    for condition in (node.get('status') or {}).get('conditions') or []:
        if condition.get('type') == 'Ready':
            return condition.get('status') == 'True'
    return False


def _clean_taint(taint):
    return dict((k, v) for k, v in taint.items() if k in ('key', 'value', 'effect') and v not in (None, ''))


def state_of(node):
    """What node_label manages and diffs: labels, annotations, taints."""
    meta = node.get('metadata') or {}
    return {
        'labels': dict(meta.get('labels') or {}),
        'annotations': dict(meta.get('annotations') or {}),
        'taints': [_clean_taint(t) for t in (node.get('spec') or {}).get('taints') or []],
    }


def summary(node):
    """node_info's view of a node."""
    meta = node.get('metadata') or {}
    status = node.get('status') or {}
    labels = meta.get('labels') or {}
    addresses = {}
    for address in status.get('addresses') or []:
        addresses.setdefault(address.get('type'), address.get('address'))
    return {
        'ready': is_ready(node),
        'control_plane': CONTROL_PLANE_LABEL in labels,
        'labels': dict(labels),
        'taints': [_clean_taint(t) for t in (node.get('spec') or {}).get('taints') or []],
        'addresses': addresses,
        'kubelet_version': (status.get('nodeInfo') or {}).get('kubeletVersion'),
        'unschedulable': bool((node.get('spec') or {}).get('unschedulable')),
    }


# ---------------------------------------------------------------- planning

def _plan_mapping(live, wanted):
    """(patch dict, changes dict) for labels or annotations."""
    patch, changes = {}, {}
    for key in sorted(wanted):
        value = wanted[key]
        if value is None:
            if key in live:
                patch[key] = None
                changes[key] = {'before': live[key], 'after': None}
        elif live.get(key) != value:
            patch[key] = value
            changes[key] = {'before': live.get(key), 'after': value}
    return patch, changes


def _same_slot(taint, key, effect):
    return taint.get('key') == key and (effect is None or taint.get('effect') == effect)


def _plan_taints(live_taints, wanted):
    """(new taint list or None when unchanged, list of change descriptions)."""
    taints = [copy.deepcopy(t) for t in live_taints]
    changes = []
    for item in wanted:
        key, effect, value = item['key'], item['effect'], item['value']
        if item['state'] == 'absent':
            kept = []
            for taint in taints:
                if _same_slot(taint, key, effect) and \
                        (value is None or (taint.get('value') or None) == value):
                    changes.append({'action': 'remove', 'taint': _clean_taint(taint)})
                else:
                    kept.append(taint)
            taints = kept
            continue
        wanted_taint = _clean_taint({'key': key, 'value': value, 'effect': effect})
        match = [t for t in taints if _same_slot(t, key, effect)]
        if not match:
            taints.append(wanted_taint)
            changes.append({'action': 'add', 'taint': wanted_taint})
        elif (match[0].get('value') or None) != value:
            changes.append({'action': 'update', 'taint': wanted_taint,
                            'before': _clean_taint(match[0])})
            match[0]['value'] = value
            if value is None:
                match[0].pop('value', None)
    return (taints if changes else None), changes


def plan_node(node, spec):
    """(patch or None, changes, before, after) for one live node and its normalised spec.

    The patch is a JSON merge patch carrying metadata.resourceVersion, so the API server
    rejects it if someone else changed the node since it was read. Taints are replaced as a
    whole list (merge patches cannot address list items), which the version guard makes safe.
    """
    before = state_of(node)
    label_patch, label_changes = _plan_mapping(before['labels'], spec['labels'])
    note_patch, note_changes = _plan_mapping(before['annotations'], spec['annotations'])
    raw_taints = (node.get('spec') or {}).get('taints') or []
    new_taints, taint_changes = _plan_taints(raw_taints, spec['taints'])
    changes = {}
    if label_changes:
        changes['labels'] = label_changes
    if note_changes:
        changes['annotations'] = note_changes
    if taint_changes:
        changes['taints'] = taint_changes
    if not changes:
        return None, {}, before, before
    patch = {'metadata': {'resourceVersion': node['metadata'].get('resourceVersion')}}
    if label_patch:
        patch['metadata']['labels'] = label_patch
    if note_patch:
        patch['metadata']['annotations'] = note_patch
    if new_taints is not None:
        patch['spec'] = {'taints': new_taints or None}
    after = copy.deepcopy(before)
    for target, updates in (('labels', label_patch), ('annotations', note_patch)):
        for key, value in updates.items():
            if value is None:
                after[target].pop(key, None)
            else:
                after[target][key] = value
    if new_taints is not None:
        after['taints'] = [_clean_taint(t) for t in new_taints]
    return patch, changes, before, after


def missing_nodes(live, names):
    return sorted(name for name in names if name not in live)


def not_ready(live, names):
    return sorted(name for name in names if name not in live or not is_ready(live[name]))


# ---------------------------------------------------------------- kubectl argv

def get_nodes_args():
    return ['get', 'nodes', '--output', 'json']


def patch_args(name, patch):
    return ['patch', 'node', name, '--type', 'merge', '--patch',
            json.dumps(patch, sort_keys=True, separators=(',', ':')), '--output', 'name']


def delete_node_args(name):
    return ['delete', 'node', name, '--ignore-not-found', '--wait=false']


def get_node_args(name):
    return ['get', 'node', name, '--ignore-not-found', '--output', 'json']
