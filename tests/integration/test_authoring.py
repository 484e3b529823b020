"""test_authoring.py -- writing a mapping: fixtures that cannot lie, readable diffs, limits.

A user's mapping (written into a temporary directory, as a user would) and
its fixture cases, run with `awstopo test`:
  - a FixtureMissing fails the case even when the mapping caught it (ctx.aws.try),
    and --update refuses to write its golden, even with --accept-errors;
  - --update refuses a failed run unless --accept-errors; the error in the golden
    names no file or line, so the golden survives moving the directory and
    adding lines to the mapping; the line is printed with a differing case;
  - one changed field shows as one `path: old -> new` line; a new warning is
    listed before the components; each kind is cut only after its first
    differences; --diff lines keeps the line view;
  - a runaway loop stops in under 5 s with the default budget, naming
    AWSTOPO_INSTRUCTION_BUDGET; a loop spending its time in C functions is
    stopped by the CPU-time limit, naming AWSTOPO_CPU_LIMIT_SECONDS;
  - two different components with one externalId in a run are a warning naming
    both (the same one emitted twice is not);
  - a service without a model: the error says how to give one (--models DIR);
  - `awstopo test --help` lists --models; a wrong --diff is a usage error (64).
"""
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import checklib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
check = checklib.Checks()


def run(args, env=None, timeout=120):
    e = dict(os.environ)
    for k in ("AWSTOPO_INSTRUCTION_BUDGET", "AWSTOPO_CPU_LIMIT_SECONDS", "AWSTOPO_MEMORY_LIMIT_MB"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=e, timeout=timeout)


QUEUES = """-- a user's mapping: SQS queues with their attributes
return {
  service = "sqs",
  calls = { "ListQueues", "GetQueueAttributes" },
  types = { ["aws.sqs.queue"] = { layer = "Queues" } },
  scan = function(ctx)
    local page, err = ctx.aws.try("ListQueues", {})
    if not page then
      ctx.warn("cannot list queues: %s", err.code)
      return
    end
    for _, url in ipairs(page.QueueUrls or {}) do
      local attrs = ctx.aws.call("GetQueueAttributes", { QueueUrl = url })
      ctx.component{ type = "aws.sqs.queue", id = url, name = url:match("[^/]+$"), data = attrs.Attributes }
    end
    if page.Note then ctx.warn("note: %s", page.Note) end
  end,
}
"""

LOOP = """return { service = "sqs", calls = {}, types = {}, scan = function() while true do end end }
"""

C_LOOP = """-- each turn is a few instructions but much work inside string functions
return { service = "sqs", calls = {}, types = {}, scan = function()
  local s = string.rep("abc", 3000)
  while true do s = s:upper():lower() end
end }
"""


def url(i):
    return "https://sqs.us-east-1.amazonaws.com/123456789012/q%02d" % i


def queues_case(n, depth=None, note=None):
    listing = {"QueueUrls": [url(i) for i in range(n)]}
    if note:
        listing["Note"] = note
    attrs = []
    for i in range(n):
        d = (depth or {}).get(i, "0")
        attrs.append({"params": {"QueueUrl": url(i)},
                      "response": {"Attributes": {"ApproximateNumberOfMessages": d, "VisibilityTimeout": "30"}}})
    return {"responses": {"ListQueues": [{"response": listing}], "GetQueueAttributes": attrs}}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text if isinstance(text, str) else json.dumps(text, indent=2))


def test_fixture_missing(d):
    case = os.path.join(d, "fixtures", "queues", "empty.case.json")
    golden = case.replace(".case.json", ".golden.json")
    write(case, {"responses": {}})       # ListQueues has no response: the mapping's try catches it
    r = run(["test", case, "--update"])
    check(r.returncode == 1 and "FixtureMissing" in r.stdout and "not written" in r.stdout,
          "--update refuses a run with a FixtureMissing", r.stdout)
    check(not os.path.exists(golden), "no golden written for it")
    r = run(["test", case, "--update", "--accept-errors"])
    check(r.returncode == 1 and not os.path.exists(golden), "not even with --accept-errors", r.stdout)
    # a golden that recorded the caught FixtureMissing as a warning (as older versions wrote it)
    write(golden, {"components": [], "relations": [], "delete_ids": [],
                   "warnings": ["cannot list queues: FixtureMissing"]})
    r = run(["test", case])
    check(r.returncode == 1 and "FAIL" in r.stdout and "FixtureMissing: 1 call without a response" in r.stdout
          and "sqs:ListQueues" in r.stdout, "a FixtureMissing caught by ctx.aws.try fails the case", r.stdout)
    os.unlink(case)
    os.unlink(golden)


def test_failed_runs_and_portable_goldens(d):
    case = os.path.join(d, "fixtures", "queues", "denied.case.json")
    golden = case.replace(".case.json", ".golden.json")
    c = queues_case(1)
    c["responses"]["GetQueueAttributes"] = [{"error": {"code": "AccessDenied", "message": "no", "status": 403}}]
    write(case, c)
    r = run(["test", case, "--update"])
    check(r.returncode == 1 and "not written: the run failed" in r.stdout and "--accept-errors" in r.stdout,
          "--update refuses a failed run and says how to accept it", r.stdout)
    check(not os.path.exists(golden), "no golden written for the failed run")
    r = run(["test", case, "--update", "--accept-errors"])
    check(r.returncode == 0 and os.path.exists(golden), "--accept-errors writes it", r.stdout)
    err = json.load(open(golden)).get("error", "")
    check(err.startswith("mapping queues: ") and ".lua:" not in err and "AccessDenied" in err,
          "the golden's error names the mapping, not file and line", err)
    # moved elsewhere, a line added above: the golden still holds
    moved = d + "-moved"
    shutil.copytree(d, moved)
    with open(os.path.join(moved, "queues.lua")) as f:
        text = f.read()
    write(os.path.join(moved, "queues.lua"), "-- a new first line\n" + text)
    r = run(["test", os.path.join(moved, "fixtures", "queues", "denied.case.json")])
    check(r.returncode == 0 and "1 passed, 0 failed" in r.stdout, "the golden survives a move and a new line",
          r.stdout)
    # a differing error case prints where the error was raised
    g = json.load(open(golden))
    g["error"] = "mapping queues: something else"
    write(golden, g)
    r = run(["test", case])
    check(r.returncode == 1 and "queues.lua:13:" in r.stdout, "a differing case prints the error's line", r.stdout)
    shutil.rmtree(moved)
    os.unlink(case)
    os.unlink(golden)


def diff_lines(out):
    return [l for l in out.splitlines() if l.startswith("      ")]


def test_structural_diff(d):
    case = os.path.join(d, "fixtures", "queues", "many.case.json")
    write(case, queues_case(15))
    r = run(["test", case, "--update"])
    check(r.returncode == 0, "a good case is written", r.stdout)
    # one field of one queue changes
    write(case, queues_case(15, depth={3: "7"}))
    r = run(["test", case])
    lines = diff_lines(r.stdout)
    check(r.returncode == 1 and len(lines) == 2 and "~ " + url(3) + " (aws.sqs.queue)" in lines[0]
          and lines[1].strip() == 'data.ApproximateNumberOfMessages: "0" -> "7"',
          "one changed field is one line under its component", r.stdout)
    r = run(["test", case, "--diff", "lines"])
    check(r.returncode == 1 and "--- golden (line" in r.stdout and '+         "ApproximateNumberOfMessages": "7"'
          in r.stdout, "--diff lines keeps the line view", r.stdout)
    # every queue changes and a warning appears: the warning comes first, the
    # components are cut after 10 with a count of the rest
    write(case, queues_case(15, depth={i: "9" for i in range(15)}, note="new"))
    r = run(["test", case])
    out = r.stdout
    check("warnings:" in out and '+ "note: new"' in out and out.index("warnings:") < out.index("components:"),
          "a new warning is listed before the components", out)
    check(out.count("      ~ ") == 10 and "... and 5 more changed" in out, "changed items cut after 10, counted",
          out)
    os.unlink(case)
    os.unlink(case.replace(".case.json", ".golden.json"))


DUPS = """-- two queues given the same id by mistake, and one reached twice (the same item: no warning)
return {
  service = "sqs", calls = {}, types = { ["aws.sqs.queue"] = { layer = "Queues" } },
  scan = function(ctx)
    ctx.component{ type = "aws.sqs.queue", id = "q", name = "orders" }
    ctx.component{ type = "aws.sqs.queue", id = "q", name = "invoices" }
    ctx.component{ type = "aws.sqs.queue", id = "same", name = "same" }
    ctx.component{ type = "aws.sqs.queue", id = "same", name = "same" }
  end,
}
"""


def test_duplicates(d):
    write(os.path.join(d, "dups.lua"), DUPS)
    case = os.path.join(d, "fixtures", "dups", "dups.case.json")
    write(case, {"responses": {}})
    r = run(["test", case, "--update"])
    g = json.load(open(case.replace(".case.json", ".golden.json")))
    check(r.returncode == 0 and g["warnings"] == [
        'two different components with the externalId q: aws.sqs.queue "orders", then aws.sqs.queue "invoices" '
        '(the second replaces the first)'] and len(g["components"]) == 2,
        "two different components with one id: a warning naming both", json.dumps(g["warnings"]))


NO_MODEL = """return {
  service = "widgetsvc", calls = { "ListWidgets" }, types = {},
  scan = function(ctx) for _ in ctx.aws.paginate("ListWidgets", {}) do end end,
}
"""


def test_no_model(d):
    write(os.path.join(d, "widgets.lua"), NO_MODEL)
    case = os.path.join(d, "fixtures", "widgets", "w.case.json")
    write(case, {"responses": {"ListWidgets": [{"response": {"widgets": []}}]}})
    r = run(["test", case])
    check(r.returncode == 1 and "no model for service 'widgetsvc'" in r.stdout and "--models DIR" in r.stdout
          and "AWSTOPO_MODEL_PATH" in r.stdout and "docs/models.md" in r.stdout,
          "a service without a model: the error names the fix", r.stdout)
    os.unlink(case)


def cpu_of(fn):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = fn()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, time.monotonic() - t0


def test_limits(d):
    write(os.path.join(d, "loop.lua"), LOOP)
    write(os.path.join(d, "fixtures", "loop", "loop.case.json"), {"responses": {}})
    r, cpu, wall = cpu_of(lambda: run(["test", os.path.join(d, "fixtures", "loop")]))
    print("runaway loop with the default budget: %.2f s CPU, %.2f s wall" % (cpu, wall))
    check(r.returncode == 1 and "instruction budget exceeded" in r.stdout
          and "AWSTOPO_INSTRUCTION_BUDGET" in r.stdout, "the default budget stops a runaway loop, naming the setting",
          r.stdout)
    check(cpu < 5.0, "... in under 5 s of CPU (%.2f s)" % cpu)
    write(os.path.join(d, "cloop.lua"), C_LOOP)
    write(os.path.join(d, "fixtures", "cloop", "cloop.case.json"), {"responses": {}})
    env = {"AWSTOPO_INSTRUCTION_BUDGET": "1000000000000", "AWSTOPO_CPU_LIMIT_SECONDS": "1"}
    r, cpu, wall = cpu_of(lambda: run(["test", os.path.join(d, "fixtures", "cloop")], env=env))
    print("loop in C functions, AWSTOPO_CPU_LIMIT_SECONDS=1: %.2f s CPU, %.2f s wall" % (cpu, wall))
    check(r.returncode == 1 and "CPU time limit exceeded (1 s" in r.stdout
          and "AWSTOPO_CPU_LIMIT_SECONDS" in r.stdout, "the CPU-time limit stops it, naming the setting", r.stdout)
    check(cpu < 3.0, "... soon after the limit (%.2f s CPU)" % cpu)


def main():
    r = run(["test", "--help"])
    check(r.returncode == 0 and "--models DIR" in r.stdout and "--accept-errors" in r.stdout
          and "--diff" in r.stdout, "test --help lists --models, --accept-errors, --diff", r.stdout)
    r = run(["test", "--diff", "words"])
    check(r.returncode == 64, "a wrong --diff is a usage error", "%d %s" % (r.returncode, r.stderr))
    r = run(["test", "--accept-errors"])
    check(r.returncode == 64, "--accept-errors without --update is a usage error", r.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "mymaps")
        write(os.path.join(d, "queues.lua"), QUEUES)
        test_fixture_missing(d)
        test_failed_runs_and_portable_goldens(d)
        test_structural_diff(d)
        test_duplicates(d)
        test_no_model(d)
        test_limits(d)
    return check.report()


if __name__ == "__main__":
    raise SystemExit(main())
