"""test_mappings_check.py -- `awstopo mappings check` on purpose-broken mappings (tests/check/).

Each file of tests/check/ holds one class of mistake; the check must name it
with FILE:LINE, and find nothing in clean.lua. Event handler names need a full
model (the bundled ones keep only the operations awstopo calls): Debian's
botocore data/ is given with --models for that case.
"""
import os
import shutil
import subprocess
import checklib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
CHECK = os.path.join("tests", "check")
BOTOCORE = "/usr/lib/python3/dist-packages/botocore/data"
check = checklib.Checks()


def run(args):
    return subprocess.run([BIN] + args, capture_output=True, text=True, cwd=REPO, timeout=120)


EXPECTED = [
    ("badcall.lua:5:", "call ListQueus: the sqs model has no operation ListQueus (did you mean ListQueues?)"),
    ("nomodel.lua:4:", "no model for service 'nosuchservice'"),
    ("nomodel.lua:4:", "--models DIR or AWSTOPO_MODEL_PATH"),
    ("badtype.lua:7:", "component type aws.sqs.queu is used but not declared in `types` (did you mean aws.sqs.queue?)"),
    ("badrelation.lua:10:", "relation type runs-as is not in docs/relations.md"),
    ("noscan.lua:1:", "no `scan` function"),
    ("syntax.lua:", "does not load: check/syntax.lua:4: unexpected symbol near 'then'"),
]


def main():
    r = run(["mappings", "check", os.path.join(CHECK, "clean.lua")])
    check(r.returncode == 0 and r.stdout.strip().endswith("1 passed, 0 failed"), "clean.lua is clean", r.stdout)

    r = run(["mappings", "check", CHECK])
    out = r.stdout
    check(r.returncode == 1, "a directory with broken mappings: exit 1", "%d\n%s" % (r.returncode, out))
    for where, what in EXPECTED:
        line = [l for l in out.splitlines() if l.startswith(os.path.join(CHECK, where))]
        check(any(what in l for l in line), "%s reports %s" % (where, what), out)
    check("feeds" not in out, "a relation type the mapping declares in `relations` is accepted", out)
    check(not any(l.startswith(os.path.join(CHECK, "clean.lua")) for l in out.splitlines()),
          "nothing about clean.lua", out)
    if shutil.which("luacheck"):
        check("lint.lua:7:11: (W211) unused variable 'unused'" in out
              and "lint.lua:8:5: (W113) accessing undefined variable 'undefined_global'" in out,
              "luacheck's findings with file:line", out)
    else:
        check("luacheck not installed" in out, "says luacheck's checks were skipped", out)
    check("event handler names not checked" in out, "says event names need a full model", out)

    if os.path.isdir(os.path.join(BOTOCORE, "sqs")):
        r = run(["mappings", "check", "--models", BOTOCORE, os.path.join(CHECK, "badevent.lua"),
                 os.path.join(CHECK, "clean.lua")])
        check(r.returncode == 1 and os.path.join(CHECK, "badevent.lua:9: event handler CreateQueu: sqs never emits "
                                                 "this event (no such operation) (did you mean CreateQueue?)")
              in r.stdout and "CreateQueue:" not in r.stdout and r.stdout.strip().endswith("1 passed, 1 failed"),
              "an event the service never emits, with a full model", r.stdout)

    r = run(["mappings", "check", "tests/check/nonexistent.lua"])
    check(r.returncode == 1 and "does not exist" in r.stderr, "a missing file is reported", r.stderr)
    r = run(["mappings", "check"])
    check(r.returncode == 0 and r.stdout.strip().endswith(" passed, 0 failed"), "the bundled mappings are clean",
          r.stdout)
    r = run(["mappings", "frobnicate"])
    check(r.returncode == 64, "an unknown mappings command is a usage error", "%d %s" % (r.returncode, r.stderr))
    return check.report()


if __name__ == "__main__":
    raise SystemExit(main())
