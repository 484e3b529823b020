"""test_record.py -- `awstopo record` against the fake AWS endpoint.

Records a live scan as fixture cases, then checks that: no secret (secret
key, session token) is in the files; --anonymize replaced the account id;
`awstopo test --update` + `awstopo test` replay them; and the replayed
topology equals the live scan's.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
import fakes  # noqa: E402
import checklib  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
SERVICES = "ec2,vpc,dynamodb,lambda"
TOKEN = "FQoGZXIvYXdzEBYaDFakeSessionToken0000000000"
check = checklib.Checks()


def run(args, env):
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=env, timeout=120)


def ids(topology):
    return sorted(c["externalId"] for c in topology["components"]), \
        sorted(r["externalId"] for r in topology["relations"])


def main():
    fixtures = os.path.join(REPO, "tests", "fake", "fixtures-selftest")
    creds = ["%s:%s:%s" % (fakes.ACCESS_KEY, fakes.SECRET_KEY, TOKEN)]
    with fakes.start_fake_aws(fixtures, creds=creds, missing="empty") as aws, \
            tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, **aws.env(token=TOKEN))
        env["HOME"] = tmp
        out = os.path.join(tmp, "rec")
        r = run(["record", "--services", SERVICES, "--out", out, "--anonymize", "--account-id", "210987654321"],
                env)
        check(r.returncode == 0, "record exits 0: %s" % r.stderr)
        files = sorted(glob.glob(os.path.join(out, "*", "*.case.json")))
        check(len(files) == 4, "one case per mapping: %s" % files)
        text = "".join(open(f).read() for f in files)
        check(fakes.SECRET_KEY not in text and TOKEN not in text, "no secret key or session token recorded")
        check("210987654321" not in text, "--anonymize replaced the account id")
        check(fakes.SECRET_KEY not in r.stderr + r.stdout and TOKEN not in r.stderr + r.stdout,
              "no secret in the output")
        ec2 = json.load(open(os.path.join(out, "ec2", "us-east-1.case.json")))
        pages = ec2["responses"]["DescribeInstances"]
        check(len(pages) == 2 and "NextToken" in pages[0]["params"],
              "the page-2 entry comes before the page-1 entry")

        r = run(["test", "--update", out], env)
        check(r.returncode == 0, "test --update writes the golden files: %s" % r.stdout[-500:])
        r = run(["test", out], env)
        check(r.returncode == 0 and "4 passed, 0 failed" in r.stdout, "the recorded cases replay")

        live = os.path.join(tmp, "live.json")
        r = run(["scan", "--services", SERVICES, "--account-id", "123456789012", "--output", live,
                 "--format", "json"], env)
        check(r.returncode == 0, "live scan exits 0: %s" % r.stderr)
        live_ids = ids(json.load(open(live)))
        replayed = {"components": [], "relations": []}
        for f in glob.glob(os.path.join(out, "*", "*.golden.json")):
            g = json.load(open(f))
            replayed["components"] += g["components"]
            replayed["relations"] += g["relations"]
        check(ids(replayed) == live_ids, "the replayed topology equals the live one")

        # awstopo call --paginate merges pages as the AWS CLI does
        r = run(["call", "ec2", "DescribeInstances", "--paginate"], env)
        merged = json.loads(r.stdout) if r.returncode == 0 else {}
        ids_ = [i["InstanceId"] for res in merged.get("Reservations", []) for i in res["Instances"]]
        check(len(ids_) == 3 and "NextToken" not in merged, "--paginate merges both pages, token dropped")
        r = run(["call", "ec2", "DescribeInstances", "--paginate", "--max-items", "1"], env)
        check(r.returncode == 0 and len(json.loads(r.stdout)["Reservations"]) == 1,
              "--max-items counts the result key's items")
        r = run(["call", "ec2", "DescribeInstances", "--paginate", "--page-size", "5"], env)
        sent = [q["params"].get("MaxResults") for q in aws.requests() if q.get("operation") == "DescribeInstances"]
        check(r.returncode == 0 and sent[-2:] == ["5", "5"], "--page-size sets the limit key: %s" % sent[-2:])

        # a region of another partition than the default region: its ids carry that partition
        cn = os.path.join(tmp, "cn.json")
        r = run(["scan", "--services", "vpc", "--regions", "cn-north-1", "--account-id", "123456789012",
                 "--output", cn, "--format", "json"], env)
        cn_ids = ids(json.load(open(cn)))[0] if r.returncode == 0 else []
        check(cn_ids and all(i.startswith("arn:aws-cn:ec2:cn-north-1:") for i in cn_ids),
              "--regions cn-north-1 builds aws-cn ARNs: %s" % cn_ids[:2])

        rl = os.path.join(tmp, "replay")
        r = run(["record", "--services", SERVICES, "--out", rl, "--replay-layout", "--account-id", "123456789012"],
                env)
        check(r.returncode == 0 and os.path.exists(os.path.join(rl, "us-east-1", "ec2.json")),
              "--replay-layout writes <region>/<mapping>.json")
        again = os.path.join(tmp, "again.json")
        r = run(["scan", "--replay", rl, "--services", SERVICES, "--output", again, "--format", "json"], env)
        check(r.returncode == 0 and ids(json.load(open(again))) == live_ids,
              "scan --replay of a recording gives the live topology")
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
