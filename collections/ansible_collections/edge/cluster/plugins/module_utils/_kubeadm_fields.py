# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Where kubeadm keeps flag maps and secrets inside its documents, and the operations on those
places: paths into nested dicts, flag maps in either API form, the user's passthrough (checked,
its secrets found for masking), the copies that may be shown or kept on disk, and the drift
between a requested ClusterConfiguration and the one the cluster stores.
"""

from __future__ import annotations

import copy

from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import (
    KUBEADM_V1BETA4,
    KubeadmConfigError,
    normalize_version,
)

HIDDEN = '<hidden>'
# Where kubeadm keeps flag maps (extraArgs): a map in v1beta3, a list of {name, value} in
# v1beta4. While documents are built they are always dicts; _kubeadm_config.finalize() converts.
EXTRA_ARGS_PATHS = {
    'ClusterConfiguration': (('apiServer', 'extraArgs'), ('controllerManager', 'extraArgs'),
                             ('scheduler', 'extraArgs'), ('etcd', 'local', 'extraArgs')),
    'InitConfiguration': (('nodeRegistration', 'kubeletExtraArgs'),),
    'JoinConfiguration': (('nodeRegistration', 'kubeletExtraArgs'),),
}
# Secret fields: never accepted through the (logged) passthrough, masked when shown.
SECRET_PATHS = {
    'InitConfiguration': (('bootstrapTokens',), ('certificateKey',)),
    'JoinConfiguration': (('discovery', 'bootstrapToken', 'token'), ('discovery', 'tlsBootstrapToken'),
                          ('controlPlane', 'certificateKey')),
}


def deep_merge(base, override):
    """A new dict: override's keys win; dicts merge recursively, anything else is replaced."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def get_path(doc, path):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def set_path(doc, path, value):
    for key in path[:-1]:
        doc = doc.setdefault(key, {})
    doc[path[-1]] = value


def delete_path(doc, path):
    for key in path[:-1]:
        if not isinstance(doc, dict) or key not in doc:
            return
        doc = doc[key]
    if isinstance(doc, dict):
        doc.pop(path[-1], None)


def extra_args_to_dict(value, where):
    """A flag map from either kubeadm form: {name: value} or [{name, value}, ...]."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict((str(k), _flag_value(v, where, k)) for k, v in value.items())
    if isinstance(value, list):
        result = {}
        for item in value:
            if not isinstance(item, dict) or 'name' not in item:
                raise KubeadmConfigError(
                    '%s: each list entry must be {name: ..., value: ...}, got %r' % (where, item))
            name = str(item['name'])
            if name in result:
                raise KubeadmConfigError(
                    '%s: flag %s is given twice; give it once (join several values with ",")'
                    % (where, name))
            result[name] = _flag_value(item.get('value', ''), where, name)
        return result
    raise KubeadmConfigError('%s must be a map of flag names to values or a list of '
                             '{name, value}, got %s' % (where, type(value).__name__))


def _flag_value(value, where, name):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (dict, list)):
        raise KubeadmConfigError('%s: the value of flag %s must be a string, got %r'
                                 % (where, name, value))
    return '' if value is None else str(value)


def extra_args_for(api_version, args):
    """The flag map in the form api_version wants (sorted, so files are stable)."""
    if api_version == KUBEADM_V1BETA4:
        return [{'name': name, 'value': args[name]} for name in sorted(args)]
    return dict((name, args[name]) for name in sorted(args))


def normalize_extra_args(doc, kind):
    """Turn every flag map of doc (either form) into a dict, in place."""
    for path in EXTRA_ARGS_PATHS.get(kind, ()):
        value = get_path(doc, path)
        if value is not None:
            set_path(doc, path, extra_args_to_dict(value, '%s.%s' % (kind, '.'.join(path))))
    return doc


def passthrough_secrets(config):
    """Secret values a user put in the (logged) passthrough, so the module can mask them in
    its own output before refusing them."""
    found = []
    if not isinstance(config, dict):
        return found
    for kind, doc in config.items():
        for path in SECRET_PATHS.get(kind, ()):
            value = get_path(doc, path) if isinstance(doc, dict) else None
            if path == ('bootstrapTokens',) and isinstance(value, list):
                found.extend(str(item.get('token')) for item in value
                             if isinstance(item, dict) and item.get('token'))
            elif isinstance(value, (str, int)) and str(value):
                found.append(str(value))
    return found


def validate_passthrough(config, kinds):
    """config: {Kind: {...}} from the user. Returns a normalised deep copy or raises."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise KubeadmConfigError('config must be a dict of documents keyed by kind, e.g. '
                                 '{ClusterConfiguration: {apiServer: {...}}}')
    result = {}
    for kind, doc in config.items():
        if kind not in kinds:
            raise KubeadmConfigError('config has a document of kind %r; allowed kinds: %s'
                                     % (kind, ', '.join(kinds)))
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise KubeadmConfigError('config.%s must be a dict, got %s' % (kind, type(doc).__name__))
        doc = copy.deepcopy(doc)
        doc.pop('apiVersion', None)  # chosen from the kubeadm version, not by the user
        doc.pop('kind', None)
        for path in SECRET_PATHS.get(kind, ()):
            if get_path(doc, path) is not None:
                raise KubeadmConfigError(
                    'config.%s.%s holds a secret and config is not a secret option (it would be '
                    'logged); use the module options token / certificate_key instead'
                    % (kind, '.'.join(path)))
        result[kind] = normalize_extra_args(doc, kind)
    return result


def sanitize(documents):
    """A copy of finalised documents with every secret replaced by HIDDEN."""
    clean = copy.deepcopy(documents)
    for doc in clean:
        for path in SECRET_PATHS.get(doc.get('kind'), ()):
            value = get_path(doc, path)
            if value is None:
                continue
            if path == ('bootstrapTokens',):
                for token in value:
                    if isinstance(token, dict) and 'token' in token:
                        token['token'] = HIDDEN
            else:
                set_path(doc, path, HIDDEN)
    return clean


def strip_secrets(documents):
    """A copy without the secret fields at all: what stays on disk after kubeadm ran."""
    clean = copy.deepcopy(documents)
    for doc in clean:
        for path in SECRET_PATHS.get(doc.get('kind'), ()):
            delete_path(doc, path)
    return clean


def _comparable(value):
    if isinstance(value, list) and all(not isinstance(item, (dict, list)) for item in value):
        return sorted(str(item) for item in value)
    return value


def _walk(requested, live, path, found):
    for key in sorted(requested):
        want = requested[key]
        have = live.get(key) if isinstance(live, dict) else None
        where = path + (key,)
        if isinstance(want, dict) and want:
            _walk(want, have if isinstance(have, dict) else {}, where, found)
            continue
        if key == 'kubernetesVersion' and have is not None:
            same = normalize_version(want) == normalize_version(have)
        else:
            same = _comparable(want) == _comparable(have)
        if not same:
            found.append({'path': '.'.join(where), 'requested': want, 'live': have})


def cluster_config_drift(requested, live):
    """Differences between the requested ClusterConfiguration and the live one.

    Only what was requested is compared (the live document also holds kubeadm's defaults).
    Flag maps compare by flag whatever their form; lists of scalars compare as sets (SAN order
    does not matter). Returns a list of {path, requested, live}, sorted by path.
    """
    want = normalize_extra_args(copy.deepcopy(requested or {}), 'ClusterConfiguration')
    have = normalize_extra_args(copy.deepcopy(live or {}), 'ClusterConfiguration')
    for doc in (want, have):
        doc.pop('apiVersion', None)
        doc.pop('kind', None)
    found = []
    _walk(want, have, (), found)
    return sorted(found, key=lambda item: item['path'])
