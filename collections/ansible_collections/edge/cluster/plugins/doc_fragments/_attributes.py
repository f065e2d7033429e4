# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not use it from elsewhere.

from __future__ import annotations


class ModuleDocFragment:
    """The attributes every edge.cluster module declares; add support and details per module."""

    # The descriptions; use together with one of the fragments below or the module's own values.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and report whether it would change anything, without changing it.
  diff_mode:
    description: Reports what changed (or would change in check mode) when run with C(--diff).
  idempotent:
    description:
      - When run twice in a row outside check mode with the same arguments, the second run reports no change.
      - This assumes the system the module reads or controls did not change in between in a relevant way.
"""

    # A module that only reads state.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    # Members of the edge.cluster.kubeadm action group (meta/runtime.yml).
    ACTIONGROUP_KUBEADM = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/edge.cluster.kubeadm) in C(module_defaults) to set O(kubectl) once for every member.
    support: full
    membership:
      - edge.cluster.kubeadm
"""
