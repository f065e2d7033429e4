# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_hashing against hashlib and sha256sum (independent implementations of the same digests)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _hashing

HEX = 'ab' * 32


@pytest.mark.parametrize('size', [0, 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 - 5])
def test_sha256_file_matches_hashlib(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / 'blob'
    path.write_bytes(data)
    assert _hashing.sha256_file(str(path)) == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(not shutil.which('sha256sum'), reason='sha256sum not installed')
def test_sha256_file_matches_sha256sum(tmp_path):
    path = tmp_path / 'blob'
    path.write_bytes(os.urandom(4096))
    out = subprocess.run(['sha256sum', str(path)], capture_output=True, text=True, check=True).stdout
    assert _hashing.sha256_file(str(path)) == out.split()[0]


@pytest.mark.parametrize('value, expected', [
    (HEX, HEX),
    ('sha256:' + HEX, HEX),
    ('  ' + HEX.upper() + '\n', HEX),
    ('sha256:' + HEX.upper(), HEX),
])
def test_parse_sha256_accepts(value, expected):
    assert _hashing.parse_sha256(value) == expected


@pytest.mark.parametrize('value', [None, '', 'ab' * 31, 'ab' * 33, 'md5:' + HEX, 'zz' * 32, 'sha256:'])
def test_parse_sha256_rejects_naming_the_value(value):
    with pytest.raises(_hashing.ChecksumError) as caught:
        _hashing.parse_sha256(value, 'the checksum option')
    assert 'the checksum option %r is not a sha256' % (value,) in str(caught.value)


def test_parse_sha256_raises_the_callers_error():
    class PackageError(Exception):
        pass

    with pytest.raises(PackageError, match='64 hex digits'):
        _hashing.parse_sha256('nope', error=PackageError)


SUMS = (HEX + '  kube-linux-amd64.tar.gz\n'
        + 'cd' * 32 + ' *images/pause.tar\n'
        + 'ef' * 32 + '  ./images/coredns.tar.zst\n'
        + '34' * 32 + ' *./star-dot.tar\n'
        + 'not a line\n'
        + '12' * 31 + '  short.tar\n'
        + '\n'
        + 'AB' * 32 + '  upper.tar\n')


def test_sums_for_keeps_folders_and_drops_markers():
    assert _hashing.sums_for(SUMS) == {
        'kube-linux-amd64.tar.gz': HEX,
        'images/pause.tar': 'cd' * 32,
        'images/coredns.tar.zst': 'ef' * 32,
        'star-dot.tar': '34' * 32,
        'upper.tar': 'ab' * 32,
    }


@pytest.mark.parametrize('filename, expected', [
    ('kube-linux-amd64.tar.gz', HEX),
    ('pause.tar', 'cd' * 32),            # matched on the base name
    ('images/pause.tar', 'cd' * 32),     # or as written
    ('coredns.tar.zst', 'ef' * 32),
    ('short.tar', None),                 # malformed lines are skipped
    ('absent.tar', None),
])
def test_checksum_from_sums(filename, expected):
    assert _hashing.checksum_from_sums(SUMS, filename) == expected


def test_checksum_from_sums_takes_the_first_match():
    text = HEX + '  a/x.tar\n' + 'cd' * 32 + '  b/x.tar\n'
    assert _hashing.checksum_from_sums(text, 'x.tar') == HEX
