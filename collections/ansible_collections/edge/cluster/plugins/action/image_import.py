# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of edge.cluster.image_import: send only the archives the node lacks.

The bundle's image list (and SHA256SUMS) is read here and handed to the module, which lists the
node's images and answers transfer_required with the archives it needs. Only those are sent, to
the remote temporary folder, and the module is called again to check and import them. When the
node has everything, that is one module call and nothing is sent. The protocol itself is
plugin_utils/_transfer.py.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.edge.cluster.plugins.module_utils._hashing import sums_for
from ansible_collections.edge.cluster.plugins.module_utils._image_import import (
    ImageError,
    load_manifest,
)
from ansible_collections.edge.cluster.plugins.plugin_utils._transfer import (
    TransferAction,
    TransferError,
)


def controller_entries(bundle_dir, manifest_rel):
    """The manifest entries with each archive's sha256 from SHA256SUMS (when it lists it)."""
    where = os.path.join(bundle_dir, manifest_rel)
    try:
        with open(where, 'r', encoding='utf-8') as handle:
            entries = load_manifest(handle.read(), where)
    except OSError as exc:
        raise ImageError('cannot read the image list %s on the controller: %s (is src the bundle folder?)'
                         % (where, exc.strerror or exc))
    sums = {}
    sums_path = os.path.join(bundle_dir, 'SHA256SUMS')
    if os.path.isfile(sums_path):
        with open(sums_path, 'r', encoding='utf-8') as handle:
            sums = sums_for(handle.read())
    seen = {}
    for entry in entries:
        entry['sha256'] = entry.get('sha256') or sums.get(entry['file'])
        base = os.path.basename(entry['file'])
        if base in seen:
            raise ImageError('%s: %s and %s share the file name %s' % (where, seen[base], entry['file'], base))
        seen[base] = entry['file']
    return entries


class ActionModule(TransferAction):

    MODULE = 'edge.cluster.image_import'
    INTERNAL_ARGS = ('_transfer', '_entries')

    def first_call(self, args):
        self._bundle = os.path.expanduser(args['src'])
        try:
            entries = controller_entries(self._bundle, args.get('manifest') or 'images/manifest.json')
        except ImageError as exc:
            raise TransferError(to_text(exc))
        return dict(args, _entries=entries)

    def files_to_send(self, wanted, module_args):
        files = []
        for rel in wanted:
            local = os.path.join(self._bundle, rel)
            if not os.path.isfile(local):
                raise TransferError('image archive %s, listed in the bundle, is missing on the '
                                    'controller; nothing was sent or imported' % local)
            files.append((local, rel))
        return files

    def second_call(self, module_args, tmpdir, remote_paths):
        flat = [dict(e, file=os.path.basename(e['file'])) for e in module_args['_entries']]
        return dict(module_args, src=tmpdir, _entries=flat)

    def after_second_call(self, answer, files, remote_paths):
        if answer.get('failed') and isinstance(answer.get('msg'), str):
            # Name the archives as the user knows them, not by their temporary copies.
            for (local, dummy), remote in zip(files, remote_paths):
                answer['msg'] = answer['msg'].replace(remote, local)
