"""scripts/conformance's pure parts: the skip list and its Go regexp, ginkgo's progress lines,
and the summary by SIG from a JUnit report (tests/conformance/conformance.py)."""

import re
import sys

import pytest

from bundlelib import REPO

sys.path.insert(0, str(REPO / "tests" / "conformance"))
import conformance  # noqa: E402


def test_skip_names_become_a_literal_go_regexp():
    name = "[sig-apps] Foo (bar) should do x.y [Conformance]"
    rx = conformance.skip_regex([(name, "why"), ("[sig-b] plain", "why")])
    assert "\\ " not in rx, "Go's regexp rejects an escaped space"
    assert re.search(rx, "prefix " + name) and re.search(rx, "[sig-b] plain")
    assert not re.search(rx, "[sig-apps] Foo bar should do xXy [Conformance]")


@pytest.mark.parametrize("text, error", [
    ("- test: x\n", 'needs a "test"'),
    ("- reason: y\n", 'needs a "test"'),
    ("test: x\n", "must be a list"),
])
def test_skip_entries_need_a_name_and_a_reason(tmp_path, text, error):
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    with pytest.raises(conformance.ConformanceError, match=error):
        conformance.load_skips(str(path))


def test_a_skip_entry_that_names_no_spec_is_reported():
    skips = [("[sig-a] real one [Conformance]", "r"), ("[sig-a] typo [Conformance]", "r")]
    assert conformance.unmatched_skips(skips, ["[sig-a] real one [Conformance]"]) == ["[sig-a] typo [Conformance]"]


def test_progress_counts_finished_specs_from_ginkgo_output():
    p = conformance.Progress("run", every=3600)
    for line in ["Will run 5 of 7000 specs", "• [12.345 seconds]", "• [FAILED] [3.000 seconds]",
                 "S [SKIPPED] [0.001 seconds]", "• [1.000 seconds]", "  STEP: something • [2.0 seconds]"]:
        p.feed(line + "\n")
    assert p.total == 5 and dict(p.counts) == {"passed": 2, "failed": 1, "skipped": 1}
    assert p.line().startswith("run: 4/5 specs done (2 passed, 1 failed, 1 skipped)")


JUNIT = """<?xml version="1.0"?>
<testsuites><testsuite name="Kubernetes e2e suite" tests="5">
<testcase name="[It] [sig-network] DNS should provide DNS for the cluster [Conformance]" status="passed"></testcase>
<testcase name="[It] [sig-network] Services should serve a basic endpoint [Conformance]" status="failed">
  <failure message="timed out waiting for the condition" type="failed">detail</failure></testcase>
<testcase name="[It] [sig-node] Pods should be submitted and removed [Conformance]" status="skipped"><skipped message="skipped"/></testcase>
<testcase name="[It] [sig-storage] Something not conformance" status="skipped"><skipped message="filtered"/></testcase>
<testcase name="[SynchronizedBeforeSuite]" status="passed"></testcase>
</testsuite></testsuites>"""


def test_summary_counts_only_the_focus_by_sig(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    s = conformance.summarize(str(path), conformance.DEFAULT_FOCUS)
    assert (s["total"], s["passed"], s["failed"], s["skipped"]) == (3, 1, 1, 1)
    # a conformance spec the report does not hold (filtered out by the skip list) counts as skipped
    absent = "[sig-apps] Absent spec [Conformance]"
    s2 = conformance.summarize(str(path), conformance.DEFAULT_FOCUS,
                               [absent, "[sig-network] DNS should provide DNS for the cluster [Conformance]"])
    assert (s2["total"], s2["skipped"], s2["skipped_names"][-1]) == (4, 2, absent)
    assert dict(s["by_sig"]["sig-network"]) == {"passed": 1, "failed": 1}
    assert s["failures"] == [("[sig-network] Services should serve a basic endpoint [Conformance]",
                              "timed out waiting for the condition")]
    text = conformance.format_summary(s, 125, conformance.DEFAULT_FOCUS)
    assert "3 specs, 2 run, 1 passed, 1 failed, 1 skipped; wall time 2m05s" in text
    assert re.search(r"sig-network\s+2\s+1\s+1\s+0", text)
    assert "FAILED [sig-network] Services should serve a basic endpoint" in text


def test_ci_focus_selects_dns_services_and_pods_only():
    rx = re.compile(conformance.CI_FOCUS)
    assert rx.search("[sig-network] DNS should provide DNS for services [Conformance]")
    assert rx.search("[sig-network] Services should serve a basic endpoint from pods [Conformance]")
    assert rx.search("[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]")
    assert not rx.search("[sig-network] Proxy version v1 should proxy through a service and a pod [Conformance]")
    assert not rx.search("[sig-network] DNS should work with the pod containing more than 6 DNS search paths")
