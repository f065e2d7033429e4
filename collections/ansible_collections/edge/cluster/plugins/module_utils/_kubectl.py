# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Options shared by the modules that talk to the API server through kubectl, and the client
they use. KUBECTL_COMMON_ARGS is documented once by the edge.cluster._kubectl doc fragment;
modules list it in argument_spec and belong to the edge.cluster.kubeadm action group.
"""

from __future__ import annotations

import os
import time

from ansible_collections.edge.cluster.plugins.module_utils._command import (
    CommandError,
    module_runner,
    run_checked,
)

KUBECTL_COMMON_ARGS = dict(
    kubectl=dict(type='path', default='kubectl'),
    kubeconfig=dict(type='path', default='/etc/kubernetes/admin.conf'),
    wait_timeout=dict(type='int', default=120),
)

REQUEST_TIMEOUT = '30s'
READY_PROBE_TIMEOUT = '5s'
READY_PROBE_INTERVAL = 2.0
READY_PROBE = ['get', '--raw', '/readyz']

# kubectl errors that waiting does not cure: fail at once instead of after wait_timeout.
_PERMANENT_ERRORS = (
    'error loading config file',
    'no configuration has been provided',
    'Unauthorized',
    'Forbidden',
    'forbidden',
    'certificate signed by unknown authority',
)


class Kubectl:
    """kubectl with a fixed kubeconfig; builds argv lists and runs them through run()."""

    def __init__(self, run, binary, kubeconfig):
        self._run = run
        self.binary = binary
        self.kubeconfig = kubeconfig

    def argv(self, args, request_timeout=REQUEST_TIMEOUT):
        """Full argv for kubectl args (a list): global flags first, never a shell string."""
        return [self.binary, '--kubeconfig', self.kubeconfig,
                '--request-timeout', request_timeout] + list(args)

    def check(self, args, action, data=None):
        """Run kubectl args; return stdout, or raise CommandError that says what failed."""
        return run_checked(self._run, self.argv(args), action, data=data)

    def wait_ready(self, timeout, sleep=time.sleep, clock=time.monotonic):
        """Poll /readyz until it answers or timeout seconds pass; return the attempt count.

        Raises CommandError with the last kubectl error when the API server stays silent,
        at once when the error is one waiting cannot fix (bad kubeconfig, denied access).
        """
        argv = self.argv(READY_PROBE, request_timeout=READY_PROBE_TIMEOUT)
        deadline = clock() + max(timeout, 0)
        attempts = 0
        while True:
            attempts += 1
            rc, stdout, stderr = self._run(argv, None)
            if rc == 0:
                return attempts
            last = (stderr or '').strip() or (stdout or '').strip() or 'no output'
            permanent = any(marker in last for marker in _PERMANENT_ERRORS)
            left = deadline - clock()
            if permanent or left <= 0:
                if permanent:
                    why = 'kubectl cannot reach the API server with kubeconfig %s' % self.kubeconfig
                else:
                    why = ('the API server did not answer within %ss (kubeconfig %s, %d attempts)'
                           % (timeout, self.kubeconfig, attempts))
                raise CommandError(
                    '%s; last kubectl error: %s. Check that kube-apiserver runs on the node '
                    '(crictl ps) and that the kubeconfig is the cluster admin one; raise '
                    'wait_timeout if the control plane is still starting' % (why, last),
                    argv, rc, stdout, stderr)
            sleep(min(READY_PROBE_INTERVAL, left))


def kubectl_from_module(module):
    """A Kubectl for the module's kubectl/kubeconfig options; fails the module when either is
    missing, before anything runs."""
    params = module.params
    binary = params['kubectl']
    if os.sep in binary:
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            module.fail_json(msg='kubectl=%s is not an executable file; set kubectl to the '
                                 'path of the kubectl binary' % binary)
    else:
        found = module.get_bin_path(binary)
        if not found:
            module.fail_json(msg='%s not found in PATH (%s); install it (the static package '
                                 'puts it in /usr/bin) or set kubectl to its full path'
                                 % (binary, os.environ.get('PATH', '')))
        binary = found
    kubeconfig = params['kubeconfig']
    if not os.path.isfile(kubeconfig):
        module.fail_json(msg='kubeconfig %s does not exist: run this on a control-plane node '
                             'after kubeadm init, or set kubeconfig' % kubeconfig)
    if not os.access(kubeconfig, os.R_OK):
        module.fail_json(msg='kubeconfig %s is not readable by this user: use become: true'
                             % kubeconfig)
    if params['wait_timeout'] < 0:
        module.fail_json(msg='wait_timeout must be 0 or more seconds, got %d'
                             % params['wait_timeout'])
    return Kubectl(module_runner(module), binary, kubeconfig)
