# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Which of a role's wanted files and folders differ from what edge.cluster.node_preflight read.

A role describes each path it manages once, as a dict the writing task also takes its arguments
from (``path``, ``content`` or ``state: directory``, ``mode``, ``owner``, ``group``). The probe
(node_preflight's ``paths``) reads the node in one call; ``paths_to_change`` keeps the entries
whose type, content (sha1, as ansible.builtin.copy compares), mode, owner or group differ, so a
converged node skips the writes without a round trip each. The write modules still compare
before writing: a path this function keeps that turns out equal is reported ok, not changed.
"""

from __future__ import annotations

import hashlib
import re

_OCTAL = re.compile(r'^[0-7]{3,4}$')
_STATES = ('file', 'directory')


class WantedPathError(ValueError):
    """An entry cannot be compared; the message names the entry and the fix."""


def _mode(entry):
    """The wanted mode as four octal digits, or None when the entry leaves it alone."""
    mode = entry.get('mode')
    if mode is None:
        return None
    if isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode <= 0o7777:
        return '%04o' % mode
    if isinstance(mode, str) and _OCTAL.match(mode.strip()):
        return '%04o' % int(mode.strip(), 8)
    raise WantedPathError('%s: mode %r is not an octal mode; write it as a quoted string of octal digits '
                          'such as "0644" (symbolic modes like u+rw cannot be compared)' % (entry['path'], mode))


def check_entry(entry):
    """Raise WantedPathError unless entry is a dict the comparison understands; return its state."""
    if not isinstance(entry, dict):
        raise WantedPathError('each wanted path must be a dict with path, content or state, mode, owner, group; '
                              'got %r' % (entry,))
    path = entry.get('path')
    if not isinstance(path, str) or not path.startswith('/'):
        raise WantedPathError('path %r is not an absolute path (entry %r)' % (path, sorted(entry)))
    state = entry.get('state', 'file')
    if state not in _STATES:
        raise WantedPathError('%s: state %r is not one of %s' % (path, state, ', '.join(_STATES)))
    if state == 'file' and not isinstance(entry.get('content'), str):
        raise WantedPathError('%s: a file needs its content as a string (got %s)'
                              % (path, type(entry.get('content')).__name__))
    if state == 'directory' and 'content' in entry:
        raise WantedPathError('%s: a directory has no content; drop content or state: directory' % path)
    for key in ('owner', 'group'):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise WantedPathError('%s: %s %r must be a name (a string)' % (path, key, entry[key]))
    _mode(entry)
    return state


def differences(entry, found):
    """What differs between a wanted entry and node_preflight's state of its path (empty: converged).

    found is one value of node_preflight's ``paths`` ({exists, type, mode, owner, group, sha1}), or
    None when the probe did not read the path (then the path is reported as not known).
    """
    state = check_entry(entry)
    if not found:
        return ['not read']
    if not found.get('exists'):
        return ['absent']
    if found.get('type') != state:
        return ['type']
    diffs = []
    if state == 'file':
        wanted_sha1 = hashlib.sha1(entry['content'].encode('utf-8', errors='surrogateescape')).hexdigest()
        if found.get('sha1') != wanted_sha1:  # None (not hashed) differs too
            diffs.append('content')
    mode = _mode(entry)
    if mode is not None and found.get('mode') != mode:
        diffs.append('mode')
    for key in ('owner', 'group'):
        if entry.get(key) is not None and found.get(key) != entry[key]:
            diffs.append(key)
    return diffs


def paths_to_change(wanted, found):
    """The entries of wanted (in order) whose path differs from found (node_preflight's ``paths``)."""
    if not isinstance(wanted, (list, tuple)):
        raise WantedPathError('wanted paths must be a list of dicts, got %s' % type(wanted).__name__)
    if not isinstance(found, dict):
        raise WantedPathError("the probe's paths must be a dict (node_preflight's paths), got %s"
                              % type(found).__name__)
    changes = []
    for entry in wanted:
        check_entry(entry)
        if differences(entry, found.get(entry['path'])):
            changes.append(entry)
    return changes
