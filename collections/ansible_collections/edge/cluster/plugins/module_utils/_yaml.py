# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""YAML on a node that may lack PyYAML: the one optional import of it, a reader that falls back
to a converter the caller gives (kubectl can turn YAML into JSON offline), and a small writer
for the plain data kubeadm configurations hold (dicts, lists, strings, numbers, booleans, null)
so rendering never depends on the node's Python packages.
"""

from __future__ import annotations

import json
import re


def optional_yaml():
    """The PyYAML module when the node has it, else None (imported per call: cheap once loaded,
    and a node without it is then easy to imitate in tests)."""
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return yaml


def load_yaml_document(text, convert=None):
    """One YAML document as data. PyYAML when the node has it; otherwise convert(text) ->
    JSON text (kubectl can do that offline: see _kubeadm_cli.kubectl_yaml_to_json_args)."""
    yaml = optional_yaml()
    if yaml is not None:
        return yaml.safe_load(text)
    if convert is None:
        raise ValueError('no YAML reader on the node')
    data = json.loads(convert(text))
    if isinstance(data, dict):
        data.pop('metadata', None)  # added by the conversion
    return data


_PLAIN_KEY_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_./-]*\Z')
_YAML_SPECIAL = frozenset(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null', '~'])


def _yaml_key(key):
    key = str(key)
    if _PLAIN_KEY_RE.match(key) and key.lower() not in _YAML_SPECIAL:
        return key
    return json.dumps(key)


def _yaml_scalar(value):
    # Strings are always double-quoted: JSON's escapes are valid YAML, and "0600", "true" or
    # "1.30" can never be read back as numbers or booleans.
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value))


def _yaml_lines(value, indent):
    pad = ' ' * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append('%s%s:' % (pad, _yaml_key(key)))
                lines.extend(_yaml_lines(item, indent + 2))
            elif isinstance(item, list) and item:
                lines.append('%s%s:' % (pad, _yaml_key(key)))
                lines.extend(_yaml_lines(item, indent))
            else:
                lines.append('%s%s: %s' % (pad, _yaml_key(key), _yaml_inline(item)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = _yaml_lines(item, indent + 2)
                lines.append('%s- %s' % (pad, inner[0].lstrip()))
                lines.extend(inner[1:])
            else:
                lines.append('%s- %s' % (pad, _yaml_inline(item)))
    else:
        lines.append(pad + _yaml_scalar(value))
    return lines


def _yaml_inline(value):
    if isinstance(value, dict):
        return '{}'
    if isinstance(value, list):
        return '[]'
    return _yaml_scalar(value)


def to_yaml(documents, header=None):
    """Multi-document YAML text of finalised documents, stable for equal input."""
    parts = []
    if header:
        parts.extend('# ' + line if line else '#' for line in header.splitlines())
    for index, doc in enumerate(documents):
        # No "---" before the first document: kubeadm would read the header comment as an
        # empty document and reject it for lacking apiVersion and kind.
        if index:
            parts.append('---')
        parts.extend(_yaml_lines(doc, 0))
    return '\n'.join(parts) + '\n'
