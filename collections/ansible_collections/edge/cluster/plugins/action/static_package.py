# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of edge.cluster.static_package: send the package only when the node lacks it.

One module call per host in the usual case. The module is first asked with the node's cache path;
only if it answers transfer_required (no install record for this checksum and no cached copy) is
the controller file checked against its checksum, sent to the remote temporary folder, and the
module called again on that copy (it keeps it in the cache once verified).
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.edge.cluster.plugins.module_utils._static_package import (
    PackageError,
    checksum_from_sums,
    parse_sha256,
    sha256_file,
)

MODULE = 'edge.cluster.static_package'
DEFAULT_CACHE_DIR = '/var/cache/edge-cluster'


def controller_checksum(local_path, given):
    """(sha256, where from, sha256 already computed or None) for the controller file."""
    if given:
        return parse_sha256(given), 'the checksum option', None
    sums = os.path.join(os.path.dirname(local_path), 'SHA256SUMS')
    if os.path.isfile(sums):
        with open(sums, 'r', encoding='utf-8') as handle:
            found = checksum_from_sums(handle.read(), os.path.basename(local_path))
        if found:
            return found, sums, None
    # Nothing vouches for the file: its own hash identifies it (the node still checks the
    # members against the manifest). SHA256SUMS beside the package saves this read.
    actual = sha256_file(local_path)
    return actual, 'the controller file', actual


class ActionModule(ActionBase):

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for internal in ('_transfer', '_cache_as'):
            if internal in args:
                result.update(failed=True, msg='%s is internal to the action plugin; do not set it' % internal)
                return result
        try:
            remote_src = boolean(args.get('remote_src', False), strict=False)
            if remote_src or args.get('url') or not args.get('src'):
                # Nothing on the controller: the module does everything on the node.
                result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
                return result
            try:
                local = self._find_needle('files', args['src'])
            except AnsibleError as exc:
                result.update(failed=True, msg='package %s not found on the controller: %s' % (args['src'], to_text(exc)))
                return result
            try:
                expected, expected_from, computed = controller_checksum(local, args.get('checksum'))
            except (PackageError, OSError) as exc:
                result.update(failed=True, msg=to_text(exc))
                return result
            cache_dir = args.get('cache_dir') or DEFAULT_CACHE_DIR
            cached = os.path.join(cache_dir, os.path.basename(local))
            module_args = dict(args, src=cached, remote_src=True, checksum=expected, _transfer=True)
            answer = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
            transferred = False
            if answer.get('transfer_required') and not answer.get('failed'):
                actual = computed or sha256_file(local)
                if actual != expected:
                    result.update(failed=True, msg='package %s on the controller has sha256 %s, but %s says %s: '
                                                   'rebuild or re-fetch it; nothing was sent or changed'
                                                   % (local, actual, expected_from, expected))
                    return result
                if self._connection._shell.tmpdir is None:
                    self._make_tmp_path()
                remote = self._connection._shell.join_path(self._connection._shell.tmpdir, os.path.basename(local))
                self._transfer_file(local, remote)
                self._fixup_perms2((self._connection._shell.tmpdir, remote))
                module_args.update(src=remote, _transfer=False, _cache_as=cached)
                answer = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
                transferred = True
            answer.pop('transfer_required', None)
            answer['transferred'] = transferred
            result.update(answer)
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
