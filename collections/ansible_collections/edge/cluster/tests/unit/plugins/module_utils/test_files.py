# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_files.write_atomic: the mode is right from the first byte, the target is replaced whole,
and a failure leaves the target and the folder as they were."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.edge.cluster.plugins.module_utils import _files


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('data, expected', [
    ('secret: 1\n', b'secret: 1\n'),
    ('üñí\n', 'üñí\n'.encode('utf-8')),
    (b'\x00\xffbinary', b'\x00\xffbinary'),
    (b'', b''),
])
@pytest.mark.parametrize('mode', [0o600, 0o644, 0o755])
def test_write_atomic_writes_data_with_the_mode(tmp_path, data, expected, mode):
    target = tmp_path / 'file'
    target.write_text('old')
    target.chmod(0o666)
    _files.write_atomic(str(target), data, mode)
    assert target.read_bytes() == expected
    assert _mode(target) == mode
    assert [p.name for p in tmp_path.iterdir()] == ['file']


def test_write_atomic_copies_a_source_file(tmp_path):
    source = tmp_path / 'source'
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 7))  # more than one copy chunk
    target = tmp_path / 'cache' / 'copy'
    _files.write_atomic(str(target), source=str(source), mode=0o600, make_dirs=True)
    assert target.read_bytes() == source.read_bytes()
    assert _mode(target) == 0o600
    assert _mode(target.parent) == 0o755 & ~_umask()


def _umask():
    old = os.umask(0)
    os.umask(old)
    return old


def test_write_atomic_needs_the_folder_unless_told(tmp_path):
    with pytest.raises(FileNotFoundError):
        _files.write_atomic(str(tmp_path / 'missing' / 'file'), 'x')
    assert not (tmp_path / 'missing').exists()


@pytest.mark.parametrize('kwargs', [{}, {'data': 'x', 'source': '/etc/hostname'}])
def test_write_atomic_needs_exactly_one_of_data_and_source(tmp_path, kwargs):
    with pytest.raises(TypeError, match='exactly one'):
        _files.write_atomic(str(tmp_path / 'file'), **kwargs)


def test_a_failed_write_leaves_the_target_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / 'file'
    target.write_text('before')

    def broken(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken)
    with pytest.raises(OSError, match='disk full'):
        _files.write_atomic(str(target), 'after')
    assert target.read_text() == 'before'
    assert [p.name for p in tmp_path.iterdir()] == ['file']


def test_the_temporary_file_has_the_mode_before_any_byte(tmp_path, monkeypatch):
    """A secret is never in a file others can read, even before the rename."""
    seen = []
    real_fdopen = os.fdopen

    def watching(fd, *args, **kwargs):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, 'fdopen', watching)
    _files.write_atomic(str(tmp_path / 'secret'), 'token', 0o600)
    assert seen == [0o600]


def test_temp_beside_names_a_recognisable_file_in_the_same_folder(tmp_path):
    fd, temporary = _files.temp_beside(str(tmp_path / 'kubelet'), 0o755)
    os.close(fd)
    assert os.path.dirname(temporary) == str(tmp_path)
    assert os.path.basename(temporary).startswith('.kubelet.')
    assert temporary.endswith(_files.TEMP_SUFFIX)
    assert _mode(temporary) == 0o755
