# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The controller side of "send only what the node lacks", shared by the action plugins of
edge.cluster.static_package and edge.cluster.image_import.

The protocol, in module calls:
1. The module is asked first, with _transfer=true and whatever the controller knows (checksums,
   the image list). It answers from the node alone when it can; otherwise it answers
   transfer_required (true, or the list of files it needs) and changes nothing.
2. Only then are those files checked on the controller, sent to the remote temporary folder,
   and the module is called again (_transfer=false) on the copies.
3. The answer loses transfer_required and gains transferred (what was sent).

A plugin says what is specific to it in the hooks of TransferAction; the protocol, the
temporary folder and its removal live here only.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase


class TransferError(Exception):
    """The controller side cannot go on; the message is the task's failure message."""


class TransferAction(ActionBase):
    """Base of an action plugin that runs MODULE and sends it files only when it asks for them."""

    TRANSFERS_FILES = True
    MODULE = None
    # Module options only the plugin may set; a task that sets one fails.
    INTERNAL_ARGS = ('_transfer',)

    # ---------------------------------------------------------------- hooks

    def node_only(self, args):
        """True when there is nothing on the controller: the module does everything alone."""
        return boolean(args.get('remote_src', False), strict=False) or not args.get('src')

    def first_call(self, args):
        """Module options for the first call (without _transfer); raise TransferError to fail."""
        raise NotImplementedError

    def files_to_send(self, wanted, module_args):
        """[(controller path, name as the user knows it)] for the module's transfer_required
        answer; raise TransferError (nothing sent) when one cannot be sent."""
        raise NotImplementedError

    def second_call(self, module_args, tmpdir, remote_paths):
        """Module options for the call on the copies (without _transfer)."""
        raise NotImplementedError

    def transferred(self, sent):
        """The transferred return value for the names of the files sent."""
        return sent

    def after_second_call(self, answer, files, remote_paths):
        """Adjust the module's answer on the copies (files and remote_paths pair up)."""

    # ---------------------------------------------------------------- protocol

    def _send(self, files):
        """Put files in the remote temporary folder; return (tmpdir, remote paths)."""
        shell = self._connection._shell
        if shell.tmpdir is None:
            self._make_tmp_path()
        remote_paths = []
        for local, dummy in files:
            remote = shell.join_path(shell.tmpdir, os.path.basename(local))
            self._transfer_file(local, remote)
            remote_paths.append(remote)
        self._fixup_perms2([shell.tmpdir] + remote_paths)
        return shell.tmpdir, remote_paths

    def _call(self, module_args, task_vars, transfer):
        return self._execute_module(module_name=self.MODULE, module_args=dict(module_args, _transfer=transfer),
                                    task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        for internal in self.INTERNAL_ARGS:
            if internal in args:
                result.update(failed=True, msg='%s is internal to the action plugin; do not set it' % internal)
                return result
        try:
            if self.node_only(args):
                result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
                return result
            try:
                module_args = self.first_call(args)
                answer = self._call(module_args, task_vars, True)
                sent = []
                wanted = answer.get('transfer_required')
                if wanted and not answer.get('failed'):
                    files = self.files_to_send(wanted, module_args)
                    tmpdir, remote_paths = self._send(files)
                    answer = self._call(self.second_call(module_args, tmpdir, remote_paths), task_vars, False)
                    sent = [name for dummy, name in files]
                    self.after_second_call(answer, files, remote_paths)
            except TransferError as exc:
                result.update(failed=True, msg=to_text(exc))
                return result
            answer.pop('transfer_required', None)
            answer['transferred'] = self.transferred(sent)
            result.update(answer)
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
