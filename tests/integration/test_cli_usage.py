"""test_cli_usage.py -- configuration and command-line rough edges.

- `config check` summarises every region the file lists;
- an unset ${VAR} is named;
- unknown sections, keys and services get a "did you mean" (edit distance);
- a typo'd --services exits 64 (usage) naming the nearest mapping; a typo in
  AWSTOPO_SERVICES or the file exits 2; record, events process and metrics
  check them the same way;
- every command exits 64 for an unknown option;
- every docs/ path that any --help prints exists.
"""
import os
import re
import subprocess
import tempfile
import checklib  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
check = checklib.Checks()

COMMANDS = [["scan"], ["record"], ["call"], ["test"], ["mappings"], ["mappings", "check"], ["config", "check"],
            ["events"], ["events", "process"], ["events", "consume"], ["metrics"], ["lambda"]]


def run(args, env=None):
    e = dict(os.environ, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
             AWS_EC2_METADATA_DISABLED="true")
    for k in ("AWSTOPO_SERVICES", "AWSTOPO_REGIONS", "AWSTOPO_API_KEY", "AWSTOPO_STACKSTATE_URL"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=e, timeout=60, cwd=REPO)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_config(tmp):
    good = os.path.join(tmp, "good.conf")
    write(good, "[scan]\nregions = eu-west-1, us-east-1\nservices = sqs, ec2\n")
    r = run(["config", "check", good])
    check(r.returncode == 0 and "regions eu-west-1, us-east-1" in r.stdout, "the summary lists both regions",
          r.stdout + r.stderr)
    bad = os.path.join(tmp, "bad.conf")
    write(bad, "[stackstate]\nurl = https://sts.example.com/receiver\napi_key = ${AWSTOPO_TEST_UNSET_KEY}\n"
               "instanse = prod\n[scann]\n[scan]\nservices = ec3, sqs\n")
    r = run(["config", "check", bad])
    out = r.stdout
    check(r.returncode == 2, "a bad file: exit 2", r.returncode)
    check("bad.conf:3: ${AWSTOPO_TEST_UNSET_KEY} is not set in the environment" in out,
          "an unset variable is named with its line", out)
    check("bad.conf:4: unknown key 'instanse' in this section (did you mean 'instance'?" in out,
          "an unknown key gets a suggestion", out)
    check("bad.conf:5: unknown section [scann] (did you mean 'scan'?" in out, "an unknown section too", out)
    check("unknown service 'ec3' in [scan] services (did you mean 'ec2'?" in out,
          "an unknown service in the file gets a suggestion", out)
    r = run(["config", "check", bad], env={"AWSTOPO_TEST_UNSET_KEY": "k"})
    check("AWSTOPO_TEST_UNSET_KEY" not in r.stdout, "a set variable is no problem", r.stdout)


def test_services():
    r = run(["scan", "--demo", "--services", "ec3,sqs", "--output", "/dev/null"])
    check(r.returncode == 64 and "unknown service 'ec3' in --services (did you mean 'ec2'?" in r.stderr,
          "a typo'd --services: exit 64 and a suggestion", "%d %s" % (r.returncode, r.stderr))
    r = run(["scan", "--demo", "--output", "/dev/null"], env={"AWSTOPO_SERVICES": "sqss"})
    check(r.returncode == 2 and "unknown service 'sqss' in AWSTOPO_SERVICES (did you mean 'sqs'?" in r.stderr,
          "a typo in AWSTOPO_SERVICES: exit 2", "%d %s" % (r.returncode, r.stderr))
    with tempfile.TemporaryDirectory() as out:
        r = run(["record", "--services", "lamda", "--out", out, "--region", "us-east-1", "--account-id",
                 "123456789012"])
        check(r.returncode == 64 and "did you mean 'lambda'?" in r.stderr, "record checks --services too",
              "%d %s" % (r.returncode, r.stderr))
    with tempfile.NamedTemporaryFile("w", suffix=".json") as ev:
        ev.write("[]")
        ev.flush()
        r = run(["events", "process", "--services", "ec3", ev.name, "--output", "/dev/null"])
        check(r.returncode == 64 and "did you mean 'ec2'?" in r.stderr, "events process checks --services",
              "%d %s" % (r.returncode, r.stderr))
    r = run(["metrics", "--demo", "--estimate", "--services", "ec3"])
    check(r.returncode == 64 and "did you mean 'ec2'?" in r.stderr, "metrics checks --services",
          "%d %s" % (r.returncode, r.stderr))
    r = run(["scan", "--demo", "--services", "sqs", "--output", "/dev/null"])
    check(r.returncode == 0, "a right --services still scans", r.stderr)


def test_usage_errors():
    for cmd in COMMANDS:
        r = run(cmd + ["--no-such-option"])
        check(r.returncode == 64, "%s --no-such-option exits 64" % " ".join(cmd), "%d %s" % (r.returncode, r.stderr))


def test_help_doc_paths():
    seen = set()
    for cmd in [[]] + COMMANDS:
        r = run(cmd + ["--help"])
        check(r.returncode == 0, "%s --help exits 0" % " ".join(["awstopo"] + cmd), r.returncode)
        for path in re.findall(r"docs/[A-Za-z0-9_./-]*", r.stdout + r.stderr):
            path = path.rstrip(".")
            if path not in seen:
                seen.add(path)
                check(os.path.exists(os.path.join(REPO, path)), "%s (printed by %s --help) exists"
                      % (path, " ".join(["awstopo"] + cmd)))
    check(len(seen) >= 8, "the --help texts name the docs (%d paths)" % len(seen), sorted(seen))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_config(tmp)
    test_services()
    test_usage_errors()
    test_help_doc_paths()
    return check.report()


if __name__ == "__main__":
    raise SystemExit(main())
