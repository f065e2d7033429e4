# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not use it from elsewhere.

from __future__ import annotations


class ModuleDocFragment:
    """The control-plane group as the HA filters (vrrp_plan, ha_backends) take it."""

    DOCUMENTATION = r"""
options:
  _input:
    description:
      - The group's hosts, each a dict with C(name) and any of C(address), C(ansible_host), C(interface_ipv4),
        C(default_ipv4).
    type: list
    elements: dict
    required: true
  group:
    description: The group's name (named in messages).
    type: string
    default: control_plane
author:
  - edge.cluster maintainers (@edge-cluster)
"""
