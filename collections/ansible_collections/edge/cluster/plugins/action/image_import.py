# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of edge.cluster.image_import: send only the archives the node lacks.

The bundle's image list (and SHA256SUMS) is read here and handed to the module, which lists the
node's images and answers transfer_required with the archives it needs. Only those are sent, to
the remote temporary folder, and the module is called again to check and import them. When the
node has everything, that is one module call and nothing is sent.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.edge.cluster.plugins.module_utils._image_import import (
    ImageError,
    load_manifest,
    sums_for,
)

MODULE = 'edge.cluster.image_import'


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


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for internal in ('_transfer', '_entries'):
            if internal in args:
                result.update(failed=True, msg='%s is internal to the action plugin; do not set it' % internal)
                return result
        try:
            if boolean(args.get('remote_src', False), strict=False) or not args.get('src'):
                result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
                return result
            bundle = os.path.expanduser(args['src'])
            try:
                entries = controller_entries(bundle, args.get('manifest') or 'images/manifest.json')
            except ImageError as exc:
                result.update(failed=True, msg=to_text(exc))
                return result
            module_args = dict(args, _entries=entries, _transfer=True)
            answer = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
            sent = []
            wanted = answer.get('transfer_required')
            if wanted and not answer.get('failed'):
                if self._connection._shell.tmpdir is None:
                    self._make_tmp_path()
                tmpdir = self._connection._shell.tmpdir
                remote_paths = []
                for rel in wanted:
                    local = os.path.join(bundle, rel)
                    if not os.path.isfile(local):
                        result.update(failed=True, msg='image archive %s, listed in the bundle, is missing on the '
                                                       'controller; nothing was sent or imported' % local)
                        return result
                    remote = self._connection._shell.join_path(tmpdir, os.path.basename(rel))
                    self._transfer_file(local, remote)
                    remote_paths.append(remote)
                    sent.append(rel)
                self._fixup_perms2([tmpdir] + remote_paths)
                flat = [dict(e, file=os.path.basename(e['file'])) for e in entries]
                module_args.update(src=tmpdir, _entries=flat, _transfer=False)
                answer = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
                if answer.get('failed') and isinstance(answer.get('msg'), str):
                    # Name the archives as the user knows them, not by their temporary copies.
                    for rel, remote in zip(sent, remote_paths):
                        answer['msg'] = answer['msg'].replace(remote, os.path.join(bundle, rel))
            answer.pop('transfer_required', None)
            answer['transferred'] = sent
            result.update(answer)
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
