"""test_accounts.py -- several accounts in one scan, from the configuration file.

The fake AWS endpoint serves tests/integration/fixtures-scan. A config file
names two accounts: one with the default credentials, one reached through
STS AssumeRole with an external id. Checks: `awstopo config check` accepts it
and explains a broken one with file:line; the scan assumes the role (with the
external id), scans each account with its own credentials, and sends ONE
snapshot for both; an account whose role cannot be assumed makes the scan
partial (exit 1, no stop_snapshot) while the other account is still sent;
flags win over the file; no secret reaches any output.
"""
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
import fakes  # noqa: E402
import checklib  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
FIXTURES = os.path.join(REPO, "tests", "integration", "fixtures-scan")
ROLE = "arn:aws:iam::222222222222:role/StackStateAwsIntegration"
ROLE_KEY = "ASIAROLEFAKE00000002"
ROLE_SECRET = "roleSecretKey/For+Tests/00000000000000002"
ROLE_TOKEN = "FQoGZXIvYXdzRoleSessionToken000000000002"
API_KEY = "test-api-key-0123456789"
check = checklib.Checks()


def run(args, env):
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=env, timeout=120)


CONFIG = """
; two accounts, one snapshot
[stackstate]
url = {url}
api_key = ${{TEST_STS_KEY}}
instance = acme-aws
spool = {spool}

[scan]
regions = us-east-1
services = sqs

[account main]
account_id = 123456789012

[account partner]
role_arn = {role}
external_id = {external_id}
session_name = awstopo-test
account_id = 222222222222
"""


def payloads(rx, since=0):
    """The intake documents the receiver accepted (without its bookkeeping)."""
    return [e["payload"] for e in rx.payloads(since)]


def write_config(path, **values):
    with open(path, "w") as f:
        f.write(CONFIG.format(**values))


def main():
    creds = ["%s:%s" % (fakes.ACCESS_KEY, fakes.SECRET_KEY), "%s:%s:%s" % (ROLE_KEY, ROLE_SECRET, ROLE_TOKEN)]
    with fakes.start_fake_aws(FIXTURES, creds=creds) as aws, \
            fakes.start_receiver(api_key=API_KEY) as rx, \
            tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, **aws.env())
        env.update(HOME=tmp, TEST_STS_KEY=API_KEY, AWSTOPO_RETRY_BASE_MS="5", AWS_ENDPOINT_URL_STS=aws.url)
        conf = os.path.join(tmp, "awstopo.conf")
        spool = os.path.join(tmp, "spool")
        write_config(conf, url=rx.url, spool=spool, role=ROLE, external_id="acme-7f3a")

        r = run(["config", "check", conf], env)
        check(r.returncode == 0 and "2 account(s)" in r.stdout, "config check accepts it: %s%s" % (r.stdout, r.stderr))
        bad = os.path.join(tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("[stackstate]\nurl = ftp://x\napi_key = k\n\n[scann]\nregions = eu-west-1\n[account x]\nrole = y\n")
        r = run(["config", "check", bad], env)
        check(r.returncode == 2, "config check fails a broken file")
        check("bad.conf:5: unknown section [scann]" in r.stdout, "unknown section named with its line: %s" % r.stdout)
        check("bad.conf:8: unknown key 'role'" in r.stdout, "unknown key named with its line")
        check("http:// or https://" in r.stdout, "bad url explained")

        r = run(["scan", "--config", conf], env)
        check(r.returncode == 0, "two-account scan exits 0: %s" % r.stderr)
        reqs = aws.requests()
        assume = [q for q in reqs if q.get("operation") == "AssumeRole"]
        check(len(assume) == 1, "the role is assumed once: %d" % len(assume))
        check(assume and assume[0]["params"].get("ExternalId") == "acme-7f3a", "with the external id")
        check(assume and assume[0]["params"].get("RoleSessionName") == "awstopo-test", "and the session name")
        keys = {q.get("access_key") for q in reqs if q.get("service") == "sqs"}
        check(keys == {fakes.ACCESS_KEY, ROLE_KEY}, "each account scanned with its own credentials: %s" % keys)
        got = payloads(rx)
        starts = [p for p in got if p["topologies"][0]["start_snapshot"]]
        stops = [p for p in got if p["topologies"][0]["stop_snapshot"]]
        check(len(starts) == 1 and len(stops) == 1, "one snapshot for both accounts")
        check(all(p["topologies"][0]["instance"] == {"type": "aws", "url": "acme-aws"} for p in got),
              "instance from the config file")

        # the partner's role cannot be assumed: partial, the main account still sent
        write_config(conf, url=rx.url, spool=spool, role=ROLE, external_id="wrong")
        before = len(payloads(rx))
        r = run(["scan", "--config", conf], env)
        check(r.returncode == 1, "a failing account makes the scan partial (exit 1): %d %s" % (r.returncode, r.stderr))
        check("AssumeRole" in r.stderr and "partner" in r.stderr, "the error names the account and AssumeRole")
        new = payloads(rx)[before:]
        comps = [c for p in new for c in p["topologies"][0]["components"]]
        check(comps and not any(p["topologies"][0]["stop_snapshot"] for p in new),
              "the other account is sent, without stop_snapshot")

        # flags win over the file
        r = run(["scan", "--config", conf, "--instance", "from-flag", "--services", "sqs"], env)
        last = payloads(rx)[-1]
        check(last["topologies"][0]["instance"]["url"] == "from-flag", "--instance wins over the file")

        everything = "".join(open(os.path.join(d, f), errors="replace").read()
                             for d, _, fs in os.walk(tmp) for f in fs if not f.endswith(".conf"))
        everything += r.stdout + r.stderr
        for secret in (ROLE_SECRET, ROLE_TOKEN, fakes.SECRET_KEY, API_KEY):
            check(secret not in everything, "no secret in outputs or spool (%s...)" % secret[:6])
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
