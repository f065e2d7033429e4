# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The one way modules here run commands: argv lists (never shell strings), optional stdin,
and failures carrying msg, rc, stdout, stderr and cmd for fail_json.

A "run" callable has the signature run(argv, data=None) -> (rc, stdout, stderr); modules get
one from module_runner(), unit tests pass a fake.
"""

from __future__ import annotations

import traceback


class CommandError(Exception):
    """A command failed or could not run; result() gives the fail_json keyword arguments."""

    def __init__(self, msg, cmd=None, rc=None, stdout='', stderr=''):
        super().__init__(msg)
        self.msg = msg
        self.cmd = list(cmd) if cmd else []
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def result(self):
        return dict(msg=self.msg, cmd=self.cmd, rc=self.rc, stdout=self.stdout, stderr=self.stderr)


def module_runner(module, missing_ok=False):
    """A run callable backed by AnsibleModule.run_command (stdin through data, never argv).

    missing_ok: a command that cannot start (absent, not executable) answers (None, '', reason)
    instead of failing the module, for modules that report on what the node has.
    """

    def run(argv, data=None):
        if not missing_ok:
            return module.run_command(argv, data=data, check_rc=False)
        try:
            return module.run_command(argv, data=data, check_rc=False, handle_exceptions=False)
        except OSError as exc:
            return None, '', str(exc)

    return run


def run_checked(run, argv, action, data=None):
    """Run argv; return stdout on rc 0, else raise CommandError naming the action.

    data goes to the command's stdin: secrets travel there, never on argv (which ps shows).
    """
    if not isinstance(argv, list) or not all(isinstance(arg, str) for arg in argv):
        raise TypeError('argv must be a list of str, got %r' % (argv,))
    rc, stdout, stderr = run(argv, data)
    if rc != 0:
        detail = (stderr or '').strip() or (stdout or '').strip() or 'no output'
        raise CommandError('%s failed (rc=%s): %s' % (action, rc, detail), argv, rc, stdout, stderr)
    return stdout


def exit_module(module, run_module, unexpected='unexpected error', known=(), context=None):
    """Run run_module(module) and end the module with its result dict.

    A CommandError fails with its msg, rc, stdout, stderr and cmd; an exception of a class in
    known (a module's own error, whose message is written for the user) fails with that message;
    anything else fails with "<unexpected>: <error>" and the traceback, so a bug shows where it
    is instead of a bare "MODULE FAILURE". context (a dict) is added to every failure.
    """
    extra = dict(context or {})
    try:
        result = run_module(module)
    except CommandError as exc:
        module.fail_json(**dict(extra, **exc.result()))
    except known as exc:
        module.fail_json(msg=str(exc), **extra)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_json(msg='%s: %s' % (unexpected, exc), exception=traceback.format_exc(), **extra)
    module.exit_json(**result)
