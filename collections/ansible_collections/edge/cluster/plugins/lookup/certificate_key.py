# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: certificate_key
short_description: A new kubeadm certificate key
version_added: 0.1.0
description:
  - Returns a new certificate key for C(kubeadm init --upload-certs --certificate-key) and
    C(kubeadm join --control-plane --certificate-key) - 32 bytes from Python's C(secrets) module (a
    cryptographically secure source), as 64 lowercase hex characters.
  - The key decrypts the cluster's control-plane certificates (the C(kubeadm-certs) Secret), so it is a secret.
    Every task that uses it needs C(no_log=true), and it belongs in C(set_fact) or a vault, never in a
    debug message.
  - A lookup runs again each time the template holding it is evaluated. Store the key once with
    P(ansible.builtin.set_fact#module) (with C(no_log=true)) and use that variable; do not put the lookup in
    C(vars), where each reference would produce a different key.
  - Takes no terms.
notes:
  - Check a key from elsewhere with the P(edge.cluster.certificate_key_valid#test) test.
seealso:
  - plugin: edge.cluster.certificate_key_valid
    plugin_type: test
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Draw the certificate key once for the whole play
  ansible.builtin.set_fact:
    edge_cluster_certificate_key: "{{ lookup('edge.cluster.certificate_key') }}"
  no_log: true
  run_once: true
"""

RETURN = r"""
_raw:
  description: One new certificate key, 64 lowercase hex characters.
  type: list
  elements: string
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.edge.cluster.plugins.module_utils._certificate_key import (
    generate_certificate_key,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if terms:
            raise AnsibleLookupError(
                'edge.cluster.certificate_key takes no terms, got %d; call it as '
                "lookup('edge.cluster.certificate_key')" % len(terms))
        return [generate_certificate_key()]
