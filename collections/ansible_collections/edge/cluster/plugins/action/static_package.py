# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of edge.cluster.static_package: send the package only when the node lacks it.

One module call per host in the usual case. The module is first asked with the node's cache path;
only if it answers transfer_required (no install record for this checksum and no cached copy) is
the controller file checked against its checksum, sent to the remote temporary folder, and the
module called again on that copy (it keeps it in the cache once verified). The protocol itself is
plugin_utils/_transfer.py.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.edge.cluster.plugins.module_utils._hashing import (
    ChecksumError,
    checksum_from_sums,
    parse_sha256,
    sha256_file,
)
from ansible_collections.edge.cluster.plugins.plugin_utils._transfer import (
    TransferAction,
    TransferError,
)

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


class ActionModule(TransferAction):

    MODULE = 'edge.cluster.static_package'
    INTERNAL_ARGS = ('_transfer', '_cache_as')

    def node_only(self, args):
        return super().node_only(args) or bool(args.get('url'))

    def first_call(self, args):
        try:
            local = self._find_needle('files', args['src'])
        except AnsibleError as exc:
            raise TransferError('package %s not found on the controller: %s' % (args['src'], to_text(exc)))
        try:
            self._expected = controller_checksum(local, args.get('checksum'))
        except (ChecksumError, OSError) as exc:
            raise TransferError(to_text(exc))
        self._local = local
        cache_dir = args.get('cache_dir') or DEFAULT_CACHE_DIR
        cached = os.path.join(cache_dir, os.path.basename(local))
        return dict(args, src=cached, remote_src=True, checksum=self._expected[0])

    def files_to_send(self, wanted, module_args):
        expected, expected_from, computed = self._expected
        actual = computed or sha256_file(self._local)
        if actual != expected:
            raise TransferError('package %s on the controller has sha256 %s, but %s says %s: '
                                'rebuild or re-fetch it; nothing was sent or changed'
                                % (self._local, actual, expected_from, expected))
        return [(self._local, self._local)]

    def second_call(self, module_args, tmpdir, remote_paths):
        return dict(module_args, src=remote_paths[0], _cache_as=module_args['src'])

    def transferred(self, sent):
        return bool(sent)
