# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""A small TOML writer for daemon configs rendered from one dict (containerd's config.toml, hosts.toml).

Covers what those files use: tables, arrays of tables, strings, booleans, integers, floats and
arrays of those. Output is deterministic (keys sorted), so an unchanged dict renders byte for byte
the same and templating stays idempotent.
"""

from __future__ import annotations

import json
import math
import re

_BARE_KEY = re.compile(r'^[A-Za-z0-9_-]+$')


class TomlError(ValueError):
    """The value cannot be written as TOML; the message names the key."""


def _key(key):
    if not isinstance(key, str):
        raise TomlError('TOML keys must be strings, got %r' % (key,))
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _scalar(value, where):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ('-inf' if value < 0 else 'inf') if math.isinf(value) else 'nan'
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes (\" \\ \n \t \uXXXX) are valid TOML basic-string escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        if any(isinstance(item, dict) for item in value):
            raise TomlError('%s mixes tables and values in one array' % where)
        return '[' + ', '.join(_scalar(item, where) for item in value) + ']'
    if value is None:
        raise TomlError('%s is null, which TOML cannot express: leave the key out instead' % where)
    raise TomlError('%s has a value of type %s, which TOML cannot express' % (where, type(value).__name__))


def _is_table_array(value):
    return isinstance(value, (list, tuple)) and value and all(isinstance(item, dict) for item in value)


def _table(data, path, lines):
    plain = [(k, v) for k, v in sorted(data.items()) if not isinstance(v, dict) and not _is_table_array(v)]
    for key, value in plain:
        lines.append('%s = %s' % (_key(key), _scalar(value, '.'.join(path + [key]))))
    for key, value in sorted(data.items()):
        if isinstance(value, dict):
            sub = path + [key]
            # A table holding only tables needs no header of its own (TOML defines it implicitly).
            if not value or any(not isinstance(v, dict) for v in value.values()):
                lines.append('')
                lines.append('[%s]' % '.'.join(_key(k) for k in sub))
            _table(value, sub, lines)
        elif _is_table_array(value):
            for item in value:
                sub = path + [key]
                lines.append('')
                lines.append('[[%s]]' % '.'.join(_key(k) for k in sub))
                _table(item, sub, lines)


def dumps(data):
    """TOML text for a dict (tables for nested dicts); raises TomlError naming the bad key."""
    if not isinstance(data, dict):
        raise TomlError('TOML documents are tables: expected a dict, got %s' % type(data).__name__)
    lines = []
    _table(data, [], lines)
    while lines and lines[0] == '':
        lines.pop(0)
    return '\n'.join(lines) + '\n'
