# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not use it from elsewhere.

from __future__ import annotations


class ModuleDocFragment:
    """Options of KUBECTL_COMMON_ARGS in module_utils/_kubectl.py; keep the two in step."""

    DOCUMENTATION = r"""
options:
  kubectl:
    description:
      - The kubectl binary on the node, a name looked up in C(PATH) (and the sbin directories) or a path.
      - It is always run with an argument list, never through a shell.
    type: path
    default: kubectl
  kubeconfig:
    description:
      - Kubeconfig of a cluster administrator on the node.
      - The default is the one C(kubeadm init) writes on the first control-plane node.
    type: path
    default: /etc/kubernetes/admin.conf
  wait_timeout:
    description:
      - Seconds to wait for the API server to answer (its C(/readyz) endpoint) before doing anything.
      - On timeout the module fails with the last kubectl error, which says why (connection refused, TLS, DNS).
      - Errors waiting cannot cure (unreadable kubeconfig, access denied) fail at once.
    type: int
    default: 120
requirements:
  - kubectl on the node (the static package installs it).
"""
