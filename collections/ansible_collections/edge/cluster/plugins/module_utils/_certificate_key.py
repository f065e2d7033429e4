# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""kubeadm's --certificate-key: 32 random bytes as hex. kubeadm encrypts the control-plane
certificates it uploads (kubeadm-certs Secret) with it (AES-256-GCM), so it is a secret."""

from __future__ import annotations

import re
import secrets

CERTIFICATE_KEY_BYTES = 32
# kubeadm hex-decodes the key and wants 32 bytes; Go's hex decoder takes either case.
_CERTIFICATE_KEY_RE = re.compile(r'^[0-9a-fA-F]{64}\Z')


def generate_certificate_key():
    """64 lowercase hex characters from the secrets module (a CSPRNG)."""
    return secrets.token_hex(CERTIFICATE_KEY_BYTES)


def is_certificate_key(value):
    """True when value is a string kubeadm accepts as --certificate-key."""
    return isinstance(value, str) and bool(_CERTIFICATE_KEY_RE.match(value))
