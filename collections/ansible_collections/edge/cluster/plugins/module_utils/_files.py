# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""The one way modules here replace a file on the node: a temporary file beside the target,
given its final mode before any byte is written (secrets are never readable by others, not even
for a moment), then renamed over the target, so readers see the old file or the new one, never
half of it. A failure removes the temporary file and leaves the target as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile

TEMP_SUFFIX = '.edge-cluster-tmp'
COPY_CHUNK = 1024 * 1024


def temp_beside(path, mode):
    """(fd, temporary path) of a new file in path's folder with the given mode; the name starts
    with a dot and ends in TEMP_SUFFIX, so a leftover is recognisable."""
    fd, temporary = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix=TEMP_SUFFIX,
                                     dir=os.path.dirname(path) or '.')
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        os.unlink(temporary)
        raise
    return fd, temporary


def write_atomic(path, data=None, mode=0o600, source=None, make_dirs=False):
    """Replace path with data (str is written as UTF-8, or bytes) or with a copy of the file
    source, atomically and with the given mode.

    make_dirs creates a missing folder (0755) first. Ownership is the writer's.
    """
    if (data is None) == (source is None):
        raise TypeError('write_atomic needs exactly one of data and source')
    folder = os.path.dirname(path) or '.'
    if make_dirs and not os.path.isdir(folder):
        os.makedirs(folder, 0o755)
    fd, temporary = temp_beside(path, mode)
    try:
        with os.fdopen(fd, 'wb') as out:
            if source is not None:
                with open(source, 'rb') as stream:
                    shutil.copyfileobj(stream, out, COPY_CHUNK)
            else:
                out.write(data.encode('utf-8') if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
