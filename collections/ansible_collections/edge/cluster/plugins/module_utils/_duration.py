# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to this collection: it may change at any time; do not import it from elsewhere.

"""Durations written as kubeadm writes them (Go's time.ParseDuration): "24h", "1h30m", "90s"."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

_UNIT_MICROSECONDS = {
    'ns': Decimal('0.001'),
    'us': Decimal(1),
    '\u00b5s': Decimal(1),  # micro sign, as Go accepts
    '\u03bcs': Decimal(1),  # Greek mu, as Go accepts
    'ms': Decimal(1000),
    's': Decimal(1000000),
    'm': Decimal(60000000),
    'h': Decimal(3600000000),
}
_PART = r'(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)'
_DURATION_RE = re.compile(r'^(?:%s)+\Z' % _PART)
_PART_RE = re.compile(r'(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)')


class DurationError(ValueError):
    """Not a duration; the message names the option and gives examples."""


def parse_duration(value, name='duration'):
    """Return a datetime.timedelta for value ("2h", "30m", "1h30m", "0").

    Ints are accepted only for 0 (YAML turns an unquoted 0 into an int). Negative durations
    are refused: nothing here means "in the past".
    """
    if isinstance(value, bool):
        raise DurationError('%s must be a duration such as "2h" or "30m", got %r' % (name, value))
    if isinstance(value, int) and value == 0:
        return datetime.timedelta(0)
    if not isinstance(value, str):
        raise DurationError(
            '%s must be a duration string with a unit, such as "2h", "30m" or "1h30m", got %r'
            % (name, value))
    text = value.strip()
    if text in ('0', '+0'):
        return datetime.timedelta(0)
    if text.startswith('-'):
        raise DurationError('%s must not be negative, got %r' % (name, value))
    if text.startswith('+'):
        text = text[1:]
    if not _DURATION_RE.match(text):
        raise DurationError(
            '%s %r is not a duration: write a number and a unit (h, m, s, ms), e.g. "24h", '
            '"30m", "1h30m", or "0"' % (name, value))
    total = Decimal(0)
    for number, unit in _PART_RE.findall(text):
        total += Decimal(number) * _UNIT_MICROSECONDS[unit]
    return datetime.timedelta(microseconds=int(total))


def format_duration(delta):
    """Short human form of a timedelta ("1h30m", "45s", "0s"), for messages."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return '-' + format_duration(-delta)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = ''
    if hours:
        text += '%dh' % hours
    if minutes:
        text += '%dm' % minutes
    if seconds or not text:
        text += '%ds' % seconds
    return text
