# Copyright (c) edge.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_report
short_description: The fleet join report, as rows, a text table and the JSON document
version_added: 0.1.0
description:
  - Turns the plan (P(edge.cluster.fleet_plan#filter)) and what happened to each host into one row per host with
    its node name, result (V(joined), V(reinstalled), V(already a member), V(failed), V(skipped)), the step that
    failed and why, and the seconds it took.
  - A host that was planned but has no outcome (the run stopped early) is reported as failed, never left out.
options:
  _input:
    description: The plan, as P(edge.cluster.fleet_plan#filter) returns it.
    type: dict
    required: true
  outcomes:
    description: Per host that ran, a dict with C(result), C(node_name), C(reason), C(step), C(duration).
    type: dict
    default: {}
  unreachable:
    description: Per host the probe could not reach, the reason.
    type: dict
    default: {}
  run_id:
    description: The run's id (shown in the summary line and the document).
    type: string
    default: ''
  label:
    description: The batch label (C(key=value)) the run put on the nodes it joined.
    type: string
  started:
    description: When the run started (ISO 8601).
    type: string
seealso:
  - plugin: edge.cluster.fleet_plan
    plugin_type: filter
author:
  - edge.cluster maintainers (@edge-cluster)
"""

EXAMPLES = r"""
- name: Report
  ansible.builtin.set_fact:
    fleet_report: "{{ fleet_plan | edge.cluster.fleet_report(outcomes=outcomes, run_id='20261122-ab12cd') }}"

- name: Show the table
  ansible.builtin.debug:
    msg: "{{ fleet_report.table.splitlines() }}"
"""

RETURN = r"""
_value:
  description: The report.
  type: dict
  contains:
    rows:
      description: One dict per host (C(host), C(node_name), C(result), C(reason), C(step), C(duration)), by host name.
      type: list
      elements: dict
    table:
      description: The rows as a fixed-width text table and a summary line.
      type: string
    summary:
      description: How many hosts got each result.
      type: dict
    document:
      description: The JSON report (C(run_id), C(batch_label), C(started), C(summary), C(hosts)).
      type: dict
    failed:
      description: Hosts whose result is V(failed) or V(skipped).
      type: list
      elements: string
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.edge.cluster.plugins.module_utils._fleet import (
    FleetError,
    render_table,
    report_document,
    report_rows,
    summary,
)


def fleet_report(plan, outcomes=None, unreachable=None, run_id='', label=None, started=None):
    if not isinstance(plan, dict):
        raise AnsibleFilterError('edge.cluster.fleet_report: the input must be the fleet_plan dict')
    try:
        rows = report_rows(plan, dict(outcomes or {}), dict(unreachable or {}))
    except (FleetError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('edge.cluster.fleet_report: %s' % exc)
    return {'rows': rows, 'table': render_table(rows, run_id), 'summary': summary(rows),
            'document': report_document(rows, run_id=run_id, label=label, started=started),
            'failed': [r['host'] for r in rows if r['result'] in ('failed', 'skipped')]}


class FilterModule:
    def filters(self):
        return {'fleet_report': fleet_report}
