"""test_install.py -- `awstopo install` / `awstopo uninstall` against the fake's
stateful install account (tests/fake/install_account.py): every request SigV4-checked,
CloudFormation change sets, stack events, rollback and failure injection for real.

Paths: dry run (changes nothing), full install, re-install (no changes; then an
update in place), uninstall (the CloudTrail bucket's object versions emptied first),
a second uninstall, minimal install with and without the user's bucket and role
(theirs left alone), a failed install (clear error, rolled back: nothing left), an
uninstall after a half install, a configuration id that does not own the stacks.
After every uninstall the account holds nothing the installer made; the API key
is in no output, request log, stack parameter or template.
"""
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes  # noqa: E402
import checklib  # noqa: E402
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
BUILD = os.environ.get("AWSTOPO_BUILD", os.path.join(REPO, "build"))
API_KEY = "sts-api-key-7f3a9c1e5b"
URL = "https://stackstate.example.com"
FULL = ["stackstate-topo-cloudtrail", "stackstate-topo-cron", "stackstate-topo-cwevents",
        "stackstate-topo-kinesis", "stackstate-topo-publisher"]
OUR_BUCKET = "stackstate-topo-17-123456789012-us-east-1"
check = checklib.Checks()
outputs = []      # everything the commands printed, searched for the key at the end



def package():
    """A stand-in Lambda zip (the real one is `make lambda`'s; any bytes do here)."""
    path = os.path.join(BUILD, "test-install-package.zip")
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04 awstopo test package " + bytes(range(256)) * 64)
    return path


def run(aws, *args):
    env = dict(os.environ, **aws.env(), AWSTOPO_INSTALL_POLL_MS="5")
    for k in ("AWS_PROFILE", "AWS_ROLE_ARN"):
        env.pop(k, None)
    extra = ["--package", package()] if args[0] == "install" else []
    r = subprocess.run([BIN, args[0]] + extra + list(args[1:]), env=env, capture_output=True, text=True,
                       timeout=300)
    outputs.append(r.stdout + r.stderr)
    return r


def empty(inv, user_buckets=None):
    return (not inv["stacks"] and not inv["buckets"] and not inv["parameters"] and not inv["resources"]
            and (user_buckets is None or inv["user_buckets"] == user_buckets))


def clients(aws):
    s = botocore.session.get_session()
    env = aws.env()
    kw = dict(region_name="us-east-1", endpoint_url=aws.url, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
              aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
              config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    return s.create_client("cloudformation", **kw), s.create_client("s3", **kw), s.create_client("ssm", **kw)


def full_paths(aws):
    cfn, s3, ssm = clients(aws)
    r = run(aws, "install", "--dry-run", URL, API_KEY, "17")
    check(r.returncode == 0 and "plan (dry run" in r.stdout, "dry run: %s" % r.stderr)
    check("stackstate-topo-publisher: create" in r.stdout and "AWS::Lambda::EventSourceMapping" in r.stdout,
          "dry run lists stacks and resources")
    check(empty(aws.account()), "dry run changes nothing")

    r = run(aws, "install", URL, API_KEY, "17")
    check(r.returncode == 0 and "installed: 5 stacks" in r.stdout, "full install: %s" % r.stderr)
    inv = aws.account()
    check(inv["stacks"] == FULL, "five stacks: %s" % inv["stacks"])
    check(inv["buckets"].get(OUR_BUCKET) == 1, "package in the bucket it made: %s" % inv["buckets"])
    check(inv["parameters"] == ["/stackstate/awstopo/17/api-key"], "the key parameter")
    par = ssm.get_parameter(Name="/stackstate/awstopo/17/api-key", WithDecryption=True)["Parameter"]
    check(par["Type"] == "SecureString" and par["Value"] == API_KEY, "a SecureString holding the key")
    stacks = {s["StackName"]: s for s in cfn.describe_stacks()["Stacks"]}
    for name, s in stacks.items():
        tags = {t["Key"]: t["Value"] for t in s["Tags"]}
        check(tags.get("stackstate:configuration-id") == "17" and tags.get("stackstate:awstopo-version"),
              "%s tagged: %s" % (name, tags))
        check(all(API_KEY not in p["ParameterValue"] for p in s["Parameters"]), "%s: no key in parameters" % name)
    pub = {p["ParameterKey"]: p["ParameterValue"] for p in stacks["stackstate-topo-publisher"]["Parameters"]}
    check(pub["StreamArn"] and "from stackstate-topo-kinesis" not in pub["StreamArn"], "stream from kinesis' outputs")
    check(pub["ApiKeyParameterName"] == "/stackstate/awstopo/17/api-key", "functions get the parameter's name")
    check(any(n.startswith("AWS::IAM::Role stackstate-topo-cron") for n in inv["resources"]), "cron role made")

    r = run(aws, "install", URL, API_KEY, "17")
    check(r.returncode == 0 and r.stdout.count(": unchanged") == 5, "re-install without changes: %s" % r.stdout[-400:])
    check("already there" in r.stdout, "content-addressed package not uploaded twice")
    r = run(aws, "install", URL + "/receiver", API_KEY, "17")
    check(r.returncode == 0 and r.stdout.count(": updated") == 3 and r.stdout.count(": unchanged") == 2,
          "re-install with another URL updates the three functions' stacks in place")
    check(all(s["StackStatus"] == "UPDATE_COMPLETE" for s in cfn.describe_stacks()["Stacks"]
              if s["StackName"] in ("stackstate-topo-cron", "stackstate-topo-publisher")), "stacks updated")

    r = run(aws, "uninstall", "18")
    check(r.returncode == 2 and "belongs to configuration 17" in r.stderr, "another configuration: refused")
    check(aws.account()["stacks"] == FULL, "... and nothing deleted")

    trail_bucket = [b for b in aws.account()["buckets"] if b.startswith("stackstate-topo-cloudtrail")][0]
    s3.put_bucket_versioning(Bucket=trail_bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket=trail_bucket, Key="AWSLogs/123456789012/CloudTrail/log.json.gz", Body=b"log %d" % i)
    r = run(aws, "uninstall", "17")
    check(r.returncode == 0 and "uninstalled: configuration 17" in r.stdout, "uninstall: %s" % r.stderr)
    check("(3 object versions)" in r.stdout, "CloudTrail bucket emptied, all versions")
    order = [line.split()[1].rstrip(":") for line in r.stdout.splitlines() if line.startswith("stack ")]
    check(order == ["stackstate-topo-publisher", "stackstate-topo-cwevents", "stackstate-topo-cloudtrail",
                    "stackstate-topo-kinesis", "stackstate-topo-cron"], "reverse order: %s" % order)
    check(empty(aws.account()), "nothing left: %s" % json.dumps(aws.account())[:400])
    r = run(aws, "uninstall", "17")
    check(r.returncode == 0 and r.stdout.count("not there") == 7, "second uninstall succeeds: %s" % r.stderr)


def minimal_paths(aws):
    r = run(aws, "install", "--topo-cron-only", URL, API_KEY, "17")
    check(r.returncode == 0 and "installed: 1 stack," in r.stdout, "minimal install: %s" % r.stderr)
    inv = aws.account()
    check(inv["stacks"] == ["stackstate-topo-cron"] and OUR_BUCKET in inv["buckets"], "cron stack, own bucket")
    r = run(aws, "uninstall", "17")
    check(r.returncode == 0 and empty(aws.account(), {"user-bucket": 0}), "minimal uninstall leaves nothing")

    role = "arn:aws:iam::123456789012:role/mine"
    r = run(aws, "install", "--topo-cron-only", "--topo-cron-bucket", "user-bucket", "--topo-cron-role", role,
            URL, API_KEY, "17")
    check(r.returncode == 0, "minimal install into the user's bucket and role: %s" % r.stderr)
    inv = aws.account()
    check(inv["buckets"] == {} and inv["user_buckets"] == {"user-bucket": 1}, "package in the user's bucket")
    check(not any(n.startswith("AWS::IAM::Role") for n in inv["resources"]), "no role made: %s" % inv["resources"])
    cfn = clients(aws)[0]
    cron = cfn.describe_stacks(StackName="stackstate-topo-cron")["Stacks"][0]
    check({"ParameterKey": "RoleArn", "ParameterValue": role} in cron["Parameters"], "cron runs as the user's role")
    r = run(aws, "uninstall", "17")
    check(r.returncode == 0 and empty(aws.account(), {"user-bucket": 1}), "the user's bucket left alone")
    r = run(aws, "install", "--topo-cron-only", "--topo-cron-bucket", "nobody-bucket", URL, API_KEY, "17")
    check(r.returncode == 2 and "no such bucket" in r.stderr and empty(aws.account(), {"user-bucket": 1}),
          "a missing user bucket: clear error, nothing made")


def failed_paths(aws):
    r = run(aws, "install", URL, API_KEY, "17")
    check(r.returncode == 2, "failed install exits 2")
    check("install failed: stackstate-topo-cwevents ended ROLLBACK_COMPLETE: Function:" in r.stderr
          and "injected failure for Function" in r.stderr, "clear error with the event's reason: %s" % r.stderr)
    check("rolling back what this run created" in r.stdout and "deleting stack stackstate-topo-cloudtrail" in r.stdout,
          "rollback printed")
    check(empty(aws.account()), "rolled back: nothing left: %s" % json.dumps(aws.account())[:400])
    r = run(aws, "install", "--topo-cron-only", URL, API_KEY, "17")
    check(r.returncode == 0, "a half install (cron only): %s" % r.stderr)
    r = run(aws, "uninstall", "17")
    check(r.returncode == 0 and empty(aws.account()), "uninstall after a half install")


def usage():
    for args, what in ((["install", URL, API_KEY], "missing configuration id"),
                       (["install", URL, API_KEY, "bad id!"], "bad configuration id"),
                       (["install", "stackstate.example.com", API_KEY, "17"], "URL without scheme"),
                       (["uninstall"], "uninstall without id")):
        r = subprocess.run([BIN] + args, capture_output=True, text=True)
        check(r.returncode == 64, "usage error: %s" % what)
    for cmd in ("install", "uninstall"):
        r = subprocess.run([BIN, cmd, "--help"], capture_output=True, text=True)
        opts = ["--profile", "--role-arn", "--session-name", "--external-id"]
        if cmd == "install":
            opts += ["--topo-cron-only", "--topo-cron-bucket", "--topo-cron-role", "--dry-run"]
        check(r.returncode == 0 and all(o in r.stdout for o in opts), "%s --help lists every option" % cmd)


def main():
    usage()
    logs = []
    for settings, paths in (({"roles": ["mine"], "buckets": ["user-bucket"]}, full_paths),
                            ({"roles": ["mine"], "buckets": ["user-bucket"]}, minimal_paths),
                            ({"fail": ["stackstate-topo-cwevents/Function"]}, failed_paths)):
        log = os.path.join(BUILD, "test-install-fake-%s.log" % paths.__name__)
        open(log, "w").close()
        with fakes.start_fake_aws(None, account=settings, verbose=True, log=log) as aws:
            paths(aws)
            check(aws.stats()["signature_failures"] == 0, "every request signed")
            check(API_KEY not in json.dumps(aws.requests()), "%s: no key in the request log" % paths.__name__)
        logs.append(log)
    for log in logs:
        with open(log, errors="replace") as f:
            text = f.read()
        check("PutParameter" in text and API_KEY not in text, "no key in the fake's access log %s" % os.path.basename(log))
    check(not any(API_KEY in o for o in outputs), "no key in anything printed")
    for name in os.listdir(os.path.join(REPO, "deploy", "cloudformation")):
        with open(os.path.join(REPO, "deploy", "cloudformation", name)) as f:
            text = f.read()
        # the StackSet templates' ApiKey is a NoEcho parameter (test_templates.py checks where it goes)
        check(API_KEY not in text and ("\"ApiKey\"" not in text or "stackset" in name),
              "no key (nor an ApiKey parameter) in template %s" % name)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
