#!/usr/bin/env python3
"""check-study.py - run `rav-bench --study --quick` and check what it writes.

The findings page (docs/findings.md) is generated from the study's outputs,
so CI runs the study in quick mode to keep it from rotting: every table,
plot and trace must be produced and well-formed, and the page's generated
blocks must be replaced.  Figures are never judged (quick sizes are
meaningless and the machine is noisy); structure is.

usage: check-study.py RAV_BENCH RAVTRACE FINDINGS_MD
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

STUDIES = ["q1", "q2", "q3", "q4", "q5"]
SVGS = ["q1-transfers.svg", "q1-time.svg", "q2-free-cost.svg", "q2-bulk.svg",
        "q3-referrers.svg", "q4-pages.svg", "q5-overhead.svg"]
TRACES = ["q1-ravioli.ravtrace", "q1-chatty.ravtrace", "q2-bst-churn.ravtrace",
          "q2-bulk.ravtrace", "q3-reftree.ravtrace", "q5-structures.ravtrace"]
SVG_NS = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(args, timeout=280):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def check_table(name, text):
    if "|---" not in text:
        fail("%s has no markdown table" % name)
    if re.search(r"\b(nan|-?inf)\b", text, re.IGNORECASE):
        fail("%s has a nan or inf figure:\n%s" % (name, text))
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = line.strip().strip("|").split("|")
            if any(c.strip() == "" for c in cells) and "not measured" not in line:
                fail("%s: a table row has an empty cell: %s" % (name, line))


def check_svg(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail("%s is not well-formed XML: %s" % (path, e))
    if root.tag != SVG_NS + "svg":
        fail("%s: root element is %s, not svg" % (path, root.tag))
    marks = [e for e in root.iter() if e.tag in (SVG_NS + "circle", SVG_NS + "rect")
             and e.find(SVG_NS + "title") is not None]
    if not marks:
        fail("%s has no data points" % path)
    for e in root.iter():
        for k, v in e.attrib.items():
            if re.search(r"nan|inf", v, re.IGNORECASE) and k not in ("font-family",):
                fail("%s: attribute %s=%r" % (path, k, v))


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    bench, ravtrace, page = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="rav-study-")
    try:
        out = os.path.join(tmp, "out")
        copy = os.path.join(tmp, "findings.md")
        shutil.copy(page, copy)

        # Misuse gets a precise message and exit status 2, never a run.
        for bad in (["--study", "--bogus"], ["--study", "--repeat", "0"], ["--study", "--only", "q9"],
                    ["--study", "--pages", "sideways"]):
            p = run([bench] + bad)
            if p.returncode != 2 or "rav-bench --study" not in p.stderr:
                fail("%s: exit %d, stderr %r" % (" ".join(bad), p.returncode, p.stderr))

        p = run([bench, "--study", "--quick", "--out", out, "--findings", copy])
        if p.returncode != 0:
            fail("rav-bench --study --quick exited %d\nstderr:\n%s" % (p.returncode, p.stderr))

        machine = open(os.path.join(out, "machine.md")).read()
        if "cores" not in machine or "QUICK" not in machine:
            fail("machine.md does not describe the machine and the mode: %r" % machine)
        for q in STUDIES:
            text = open(os.path.join(out, q + ".md")).read()
            check_table(q + ".md", text)
            for img in re.findall(r"\]\(study/([^)]+\.svg)\)", text):
                if not os.path.exists(os.path.join(out, img)):
                    fail("%s.md shows %s, which was not written" % (q, img))
        for s in SVGS:
            check_svg(os.path.join(out, s))

        traces = TRACES + [f for f in os.listdir(os.path.join(out, "traces")) if f.startswith("q4-pages-")]
        if not any(t.startswith("q4-pages-") for t in traces):
            fail("no q4 trace")
        for t in traces:
            path = os.path.join(out, "traces", t)
            p = run([ravtrace, "validate", path], timeout=120)
            if p.returncode != 0 or not p.stdout.startswith("OK"):
                fail("ravtrace validate %s: %s%s" % (t, p.stdout, p.stderr))

        # The page: every block replaced with the study's text, markers kept.
        text = open(copy).read()
        for q in ["machine"] + STUDIES:
            body = open(os.path.join(out, q + ".md")).read().strip()
            m = re.search(r"<!-- study:%s -->\n(.*?)<!-- /study:%s -->" % (q, q), text, re.S)
            if not m:
                fail("findings page lost the %s markers" % q)
            if m.group(1).strip() != body:
                fail("findings page block %s is not the study's %s.md" % (q, q))

        # A page without the markers is refused with a reason, not half-written.
        bare = os.path.join(tmp, "bare.md")
        open(bare, "w").write("# no markers here\n")
        p = run([bench, "--study", "--quick", "--only", "q5", "--out", out, "--findings", bare])
        if p.returncode != 1 or "study:" not in p.stderr or open(bare).read() != "# no markers here\n":
            fail("a page without markers: exit %d, stderr %r" % (p.returncode, p.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("OK: %d tables, %d plots, %d traces, findings page regenerated" % (len(STUDIES), len(SVGS),
                                                                             len(traces)))


if __name__ == "__main__":
    main()
