# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""sha256 of files, checksum options, and SHA256SUMS files (sha256sum's output), for the node
(modules) and the controller (action plugins) alike."""

from __future__ import annotations

import hashlib
import os
import re

_CHUNK = 1024 * 1024
_SHA256_RE = re.compile(r'^(sha256:)?([0-9a-fA-F]{64})$')


class ChecksumError(ValueError):
    """A checksum is not a sha256; the message names the value and the form expected."""


def sha256_file(path):
    """Lowercase hex sha256 of the file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text):
    """Lowercase hex sha256 of text encoded as UTF-8."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def parse_sha256(value, what='checksum', error=ChecksumError):
    """Lowercase hex from 'sha256:<hex>' or '<hex>'; raise error (a ChecksumError unless the
    caller names its own exception class) on anything else."""
    match = _SHA256_RE.match((value or '').strip())
    if not match:
        raise error('%s %r is not a sha256: give 64 hex digits, optionally prefixed with "sha256:"'
                    % (what, value))
    return match.group(2).lower()


def sum_entries(text):
    """(path as written, lowercase hex) for each well-formed SHA256SUMS line, in order.

    The binary marker ('*x.tar') and a leading './' are dropped; other lines are skipped.
    """
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            continue
        match = _SHA256_RE.match(parts[0])
        if not match:
            continue
        name = parts[1].lstrip('*')
        if name.startswith('./'):
            name = name[2:]
        yield name, match.group(2).lower()


def sums_for(text):
    """{path as written: sha256} from SHA256SUMS text."""
    return dict(sum_entries(text))


def checksum_from_sums(text, filename):
    """The sha256 that a SHA256SUMS text gives for filename, or None.

    Entries may carry a folder ("images/x.tar"); they are matched on the file's base name.
    """
    for name, digest in sum_entries(text):
        if name == filename or os.path.basename(name) == filename:
            return digest
    return None
