# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.edge.cluster.plugins.module_utils._duration import (
    DurationError,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize('text, seconds', [
    ('0', 0),
    (0, 0),
    ('24h', 86400),
    ('2h', 7200),
    ('30m', 1800),
    ('90s', 90),
    ('1h30m', 5400),
    ('1h30m15s', 5415),
    ('1.5h', 5400),
    ('.5m', 30),
    ('1500ms', 1.5),
    ('+10m', 600),
    (' 15m ', 900),
    ('1\u00b5s', 0.000001),
    ('2000000ns', 0.002),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize('value, message', [
    ('', 'is not a duration'),
    ('10', 'is not a duration'),
    ('10 m', 'is not a duration'),
    ('1d', 'is not a duration'),
    ('h', 'is not a duration'),
    ('-5m', 'must not be negative'),
    (30, 'duration string with a unit'),
    (1.5, 'duration string with a unit'),
    (None, 'duration string with a unit'),
    (True, 'must be a duration'),
])
def test_parse_duration_refuses(value, message):
    with pytest.raises(DurationError, match=message):
        parse_duration(value, 'ttl')


def test_error_names_the_option():
    with pytest.raises(DurationError, match="^ttl '10' is not a duration"):
        parse_duration('10', 'ttl')


@pytest.mark.parametrize('seconds, text', [
    (0, '0s'), (45, '45s'), (3600, '1h'), (5415, '1h30m15s'), (-90, '-1m30s'),
])
def test_format_duration(seconds, text):
    assert format_duration(datetime.timedelta(seconds=seconds)) == text
