# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Uploading the control-plane certificates again (`kubeadm init phase upload-certs`) on a
running control plane: kubeadm deletes the kubeadm-certs Secret two hours after it was made,
and a control plane that joins later needs it, encrypted with the key it joins with.

The key travels in a 0600 configuration file (InitConfiguration.certificateKey), never on the
command line, and kubeadm is told not to print it.
"""

from __future__ import annotations

from ansible_collections.edge.cluster.plugins.module_utils._certificate_key import (
    is_certificate_key,
)
from ansible_collections.edge.cluster.plugins.module_utils._kubeadm_values import (
    KubeadmConfigError,
    api_version_for,
    normalize_version,
)

# What kubeadm calls the Secret; it is what a control-plane join downloads.
SECRET_NAME = 'kubeadm-certs'


def upload_certs_argv(kubeadm, config_path, kubeconfig):
    """kubeadm init phase upload-certs with everything secret in the config file."""
    return [kubeadm, 'init', 'phase', 'upload-certs', '--upload-certs', '--skip-certificate-key-print',
            '--config', config_path, '--kubeconfig', kubeconfig]


def upload_certs_documents(certificate_key, kubernetes_version, cri_socket):
    """The InitConfiguration (the key) and ClusterConfiguration (the version, so that kubeadm
    does not look up the latest release online) the phase reads."""
    if not is_certificate_key(certificate_key):
        raise KubeadmConfigError('certificate_key must be 64 hex characters (32 bytes), as the '
                                 'edge.cluster.certificate_key lookup makes (value not shown)')
    version = normalize_version(kubernetes_version, 'kubeadm version')
    api_version = api_version_for(version)
    return [
        {'apiVersion': api_version, 'kind': 'InitConfiguration', 'certificateKey': certificate_key,
         'nodeRegistration': {'criSocket': cri_socket}},
        {'apiVersion': api_version, 'kind': 'ClusterConfiguration', 'kubernetesVersion': version},
    ]
