# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Writing a static package onto the node: every changed file is staged beside its target and
renamed into place only when all are staged (a failure leaves the node as it was), and the
install record (the package plus the sha256 of every file it installed) that lets the next run
compare the node with it without opening the package.
"""

from __future__ import annotations

import json
import os
import shutil

from ansible_collections.edge.cluster.plugins.module_utils._files import (
    COPY_CHUNK,
    temp_beside,
    write_atomic,
)
from ansible_collections.edge.cluster.plugins.module_utils._static_package_archive import (
    BIN_RE,
    RUNTIME_BINARIES,
)

STATE_FORMAT = 1


def record_from_contents(contents, package_sha256, package_name):
    """The state record kept on the node after an install (no staged paths, no heads)."""
    files = {}
    for rel, member in contents.members.items():
        if BIN_RE.match(rel):
            files[rel] = dict(sha256=member.sha256, size=member.size)
    for name, member in contents.cni.items():
        files['cni/' + name] = dict(sha256=member.sha256, size=member.size)
    for name, member in contents.runtime.items():
        if name in RUNTIME_BINARIES:
            files['container/' + name] = dict(sha256=member.sha256, size=member.size)
    manifest = contents.manifest
    return {
        'format': STATE_FORMAT,
        'package': {
            'name': manifest.get('name') or package_name,
            'file': package_name,
            'sha256': package_sha256,
            'arch': manifest.get('arch'),
            'kubernetes_version': manifest.get('kubernetes_version'),
            'versions': manifest.get('versions') or {},
        },
        'files': files,
    }


def load_state(path):
    """The record of the last install, or None when there is none or it is unreadable."""
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get('format') != STATE_FORMAT:
        return None
    if not isinstance(record.get('files'), dict) or not isinstance(record.get('package'), dict):
        return None
    return record


def save_state(path, record):
    make_dirs(os.path.dirname(path), [])
    write_atomic(path, json.dumps(record, indent=2, sort_keys=True) + '\n', 0o644)


def summary(record):
    """What the module returns about the package: name, arch, versions."""
    package = record['package']
    versions = dict(package.get('versions') or {})
    return dict(name=package.get('name'), file=package.get('file'), sha256=package.get('sha256'),
                arch=package.get('arch'), kubernetes_version=package.get('kubernetes_version'),
                versions=versions)


def make_dirs(folder, created):
    if not folder or os.path.isdir(folder):
        return
    make_dirs(os.path.dirname(folder), created)
    os.mkdir(folder, 0o755)
    os.chmod(folder, 0o755)
    created.append(folder)


def apply(changes, staged):
    """Make the changes: every new file is written next to its target first, then all are renamed.

    staged maps member keys (bin/kubeadm, ...) to staged file paths. If anything fails before the
    renames, the temporary files (and folders made for them) are removed and the node is as before.
    Returns the list of paths written or fixed.
    """
    pending = []      # (tmp, final)
    created_dirs = []
    try:
        for change in changes:
            item = change.desired
            if change.action == 'attributes':
                continue
            folder = os.path.dirname(item.path)
            make_dirs(folder, created_dirs)
            fd, tmp = temp_beside(item.path, item.mode)
            pending.append((tmp, item.path))
            with os.fdopen(fd, 'wb') as out:
                if item.content is not None:
                    out.write(item.content.encode('utf-8'))
                else:
                    with open(staged[item.key], 'rb') as source:
                        shutil.copyfileobj(source, out, COPY_CHUNK)
            os.chown(tmp, 0, 0)
            os.chmod(tmp, item.mode)
    except BaseException:
        for tmp, _final in pending:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for folder in reversed(created_dirs):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        raise
    done = []
    for tmp, final in pending:
        os.rename(tmp, final)
        done.append(final)
    for change in changes:
        if change.action == 'attributes':
            os.chown(change.desired.path, 0, 0)
            os.chmod(change.desired.path, change.desired.mode)
            done.append(change.desired.path)
    return done
