#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Usage: tools/coverage-report.py COVERAGE.JSON SRCDIR OUTDIR

Reads gcovr's JSON (--json) of softmem.ko's gcov counters (tools/coverage.sh)
and writes, in OUTDIR:
  summary.txt    per kmod/ file and in total: lines run of lines with code,
                 branches taken of branches, and percentages; its last line is
                 "coverage: L % lines, B % branches of softmem's own
                 conditions (A % of every gcov branch, ...)"
  unreached.txt  per file, each run of lines never run and each line whose
                 branches were not all taken, with the source text (from
                 SRCDIR), so that each can be tested or given its reason;
                 each line with branches not taken says of which kind they
                 are (see KINDS), and a table at the top counts them by kind
Prints summary.txt.

The branch percentage B counts the branches of softmem's own conditions:
not those on lines of the kinds ASSERTION_KINDS, a statement that is an
assertion (lockdep_assert_held(), WARN*(), BUG_ON(), or an if whose whole
condition is one), whose other side runs only when the kernel is broken,
and the tracepoints (each trace_softmem_*() call site and the whole of
trace.h), whose branches are mostly the tracing core's: the static key,
the RCU and lockdep checks, the perf and output functions.  Left out with
them are the few branches softmem wrote on those lines: two conditions
in trace.h (the discard event's node, the resume event's printed state)
and UBSAN's checks of the bools passed at two call sites.  A, in
parentheses, counts every branch gcovr reports (after its
--exclude-unreachable-branches), those lines included.  Branches the
compiler adds to softmem's own lines (UBSAN's checks of a bool's value,
inlined helpers) count in both.  Lines gcovr marks as excluded or without
code do not count, as in gcovr's own report.
"""
import json
import os
import re
import sys


# What a line's branches come from, by its source text, first match wins:
# code that macros expand to, whose sides the module cannot choose, then
# softmem's own conditions.
KINDS = (
    ("tracepoint", lambda name, text: name == "trace.h" or
     re.match(r"\s*trace_softmem_\w+\(", text)),
    ("lockdep", lambda name, text: re.match(r"\s*lockdep_assert\w*\(", text)),
    # A statement that is an assertion, or an if whose whole condition is.
    ("WARN", lambda name, text:
     re.match(r"\s*(WARN\w*|BUG_ON)\(", text) or
     re.fullmatch(r"\s*if \((WARN\w*|BUG_ON)\(.*\)\)", text)),
    ("own condition", lambda name, text: True),
)

# The kinds whose branches the branch percentage leaves out (see above).
ASSERTION_KINDS = ("tracepoint", "lockdep", "WARN")


def kind(name, text):
    """The kind of the branches of line @text of file @name."""
    return next(k for k, match in KINDS if match(name, text))


def pct(hit, total):
    """Percentage with one decimal; a file without any counts as 100 %."""
    return 100.0 * hit / total if total else 100.0


def file_counts(name, lines, source):
    """[lines run, lines, branches taken, branches, and the same two for
    every branch] of one file's @lines; the first two branch counts leave
    out ASSERTION_KINDS."""
    counts = [0] * 6
    for line in lines:
        branches = len(line["branches"])
        taken = sum(b["count"] > 0 for b in line["branches"])
        own = kind(name, source(line["line_number"])) not in ASSERTION_KINDS
        counts = [c + d for c, d in zip(counts, (
            line["count"] > 0, 1, taken * own, branches * own,
            taken, branches))]
    return counts


def runs(numbers):
    """Consecutive line numbers as (first, last) pairs."""
    out = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


def untaken_by_kind(name, lines, source, by_kind):
    """Adds the branches of @lines never taken to @by_kind, per kind."""
    for l in lines:
        missed = sum(b["count"] == 0 for b in l["branches"])
        if missed:
            k = kind(name, source(l["line_number"]))
            by_kind[k] = by_kind.get(k, 0) + missed


def unreached(name, lines, source):
    """The unreached.txt section of one file."""
    text = []
    never = [l["line_number"] for l in lines if l["count"] == 0]
    partial = [l for l in lines if l["count"] > 0 and
               any(b["count"] == 0 for b in l["branches"])]
    if not never and not partial:
        return text
    untaken = sum(sum(b["count"] == 0 for b in l["branches"]) for l in lines)
    text.append(f"== {name}: {len(never)} lines never run, "
                f"{untaken} branches never taken")
    for first, last in runs(never):
        where = f"{first}" if first == last else f"{first}-{last}"
        text.append(f"{name}:{where}: never run")
        text.extend(f"\t{n}\t{source(n)}" for n in range(first, last + 1))
    for l in partial:
        n = l["line_number"]
        missed = sum(b["count"] == 0 for b in l["branches"])
        text.append(f"{name}:{n}: {missed} of {len(l['branches'])} "
                    f"branches never taken ({kind(name, source(n))})")
        text.append(f"\t{n}\t{source(n)}")
    text.append("")
    return text


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    data_file, srcdir, outdir = sys.argv[1:]
    with open(data_file, encoding="utf-8") as f:
        data = json.load(f)

    rows, report = [], []
    totals = [0] * 6
    by_kind = {}
    for entry in sorted(data["files"], key=lambda e: e["file"]):
        name = entry["file"]
        lines = [l for l in entry["lines"]
                 if not l.get("gcovr/noncode") and not l.get("gcovr/excluded")]
        if not lines:
            continue
        try:
            with open(os.path.join(srcdir, name), encoding="utf-8",
                      errors="replace") as f:
                text = f.read().splitlines()
        except OSError:
            text = []
        source = (lambda n, t=text: t[n - 1].rstrip()
                  if 0 < n <= len(t) else "")
        counts = file_counts(name, lines, source)
        totals = [t + c for t, c in zip(totals, counts)]
        rows.append((name, counts))
        report += unreached(name, lines, source)
        untaken_by_kind(name, lines, source, by_kind)
    rows.append(("total", totals))

    width = max(len(name) for name, _ in rows)
    summary = [f"{'file':<{width}}  {'lines':>11}{'':9}{'branches':>11}"
               f"{'':9}{'all branches':>13}"]
    for name, (run, code, taken, branches, all_taken, every) in rows:
        summary.append(f"{name:<{width}}  {f'{run}/{code}':>11} "
                       f"{pct(run, code):5.1f} %  {f'{taken}/{branches}':>11} "
                       f"{pct(taken, branches):5.1f} %  "
                       f"{f'{all_taken}/{every}':>11} "
                       f"{pct(all_taken, every):5.1f} %")
    run, code, taken, branches, all_taken, every = totals
    summary.append(f"coverage: {pct(run, code):.1f} % lines, "
                   f"{pct(taken, branches):.1f} % branches of softmem's own "
                   f"conditions ({pct(all_taken, every):.1f} % of every gcov "
                   f"branch, assertions and tracepoints included)")

    with open(os.path.join(outdir, "summary.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(summary) + "\n")
    with open(os.path.join(outdir, "unreached.txt"), "w",
              encoding="utf-8") as f:
        f.write("# Lines of kmod/ never run and lines whose branches were not "
                "all taken,\n# per file (tools/coverage.sh).\n#\n"
                "# Branches never taken, by kind (the branch percentage "
                "leaves out\n# " + ", ".join(ASSERTION_KINDS) + "):\n")
        for k, _ in KINDS:
            f.write(f"#   {k:<14} {by_kind.get(k, 0):5}\n")
        f.write(f"#   {'total':<14} {sum(by_kind.values()):5}\n\n")
        f.write("\n".join(report) + "\n")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
