"""test_dist.py -- `make dist`'s manual installation zip, used the way the product
page says: unpacked, then `./install.sh BASE_URL API_KEY CONFIGURATION_ID` and
`./uninstall.sh CONFIGURATION_ID`, with AWS_PROFILE from an AWS CLI config, against
the fake's install account.

The zip is built here (tools/make-lambda.sh, tools/make-dist.sh) from the binary
under test. Checks: the version in its name; install.sh, uninstall.sh, the templates,
the Lambda package, the five install policies (and the scanning and metrics ones), a
README; the scripts run the binary inside the Lambda package (no awstopo on PATH);
AWS_PROFILE is used and --profile overrides it; --help lists every option; the
install and uninstall leave the account as they should.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fake"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakes  # noqa: E402
import checklib  # noqa: E402

BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
API_KEY = "dist-api-key-51c0ffee"
POLICIES = ["StackStateIntegrationPolicyInstall.json", "StackStateIntegrationPolicyTopoCronInstall.json",
            "StackStateIntegrationPolicyTopoCronMinimal.json", "StackStateIntegrationPolicyUninstall.json",
            "StackStateIntegrationPolicyTopoCronUninstall.json", "StackStateIntegrationPolicyOrganizationInstall.json",
            "StackStateIntegrationPolicyOrganizationUninstall.json", "sts-topo-cron-policy.json",
            "sts-metrics-user-policy.json"]
check = checklib.Checks()



def build(work):
    lam = os.path.join(work, "awstopo-lambda-x86_64.zip")
    for argv in (["sh", os.path.join(REPO, "tools", "make-lambda.sh"), BIN, lam],
                 ["sh", os.path.join(REPO, "tools", "make-dist.sh"), BIN, lam, work]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise SystemExit("%s failed: %s%s" % (argv[1], r.stdout, r.stderr))
    version = subprocess.run([BIN, "version"], capture_output=True, text=True).stdout.split()[1]
    return os.path.join(work, "awstopo-aws-install-%s.zip" % version), version


def script_env(aws, work, profile):
    """No keys in the environment: the profile of an AWS CLI config/credentials pair."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    keys = aws.env()
    creds = os.path.join(work, "credentials")
    with open(creds, "w") as f:
        f.write("[p1]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                % (keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"]))
    config = os.path.join(work, "config")
    with open(config, "w") as f:
        f.write("[profile p1]\nregion = us-east-1\n")
    env.update(AWS_SHARED_CREDENTIALS_FILE=creds, AWS_CONFIG_FILE=config, AWS_ENDPOINT_URL=keys["AWS_ENDPOINT_URL"],
               AWSTOPO_INSTALL_POLL_MS="5", PATH="/usr/bin:/bin", HOME=work)
    if profile:
        env["AWS_PROFILE"] = profile
    env.pop("AWSTOPO", None)
    return env


def main():
    work = tempfile.mkdtemp(prefix="awstopo-dist-")
    try:
        dist, version = build(work)
        check(os.path.basename(dist) == "awstopo-aws-install-%s.zip" % version, "version in the zip's name")
        with zipfile.ZipFile(dist) as z:
            names = set(z.namelist())
            z.extractall(work)
        top = "awstopo-aws-install-%s/" % version
        for f in ["install.sh", "uninstall.sh", "awstopo.sh", "README.md", "awstopo-lambda-x86_64.zip"] + \
                ["policies/" + p for p in POLICIES] + \
                ["cloudformation/stackstate-topo-%s.json" % s for s in
                 ("cron", "kinesis", "cloudtrail", "cwevents", "publisher", "role", "stackset-minimal",
                  "stackset-full")]:
            check(top + f in names, "the zip holds %s" % f)
        root = os.path.join(work, top)
        for f in ("install.sh", "uninstall.sh"):
            os.chmod(os.path.join(root, f), 0o755)   # extractall drops modes; unzip keeps them
        with fakes.start_fake_aws(None, account={}) as aws:
            env = script_env(aws, work, "p1")
            r = subprocess.run(["./install.sh", "--help"], cwd=root, env=env, capture_output=True, text=True)
            check(r.returncode == 0 and all(o in r.stdout for o in (
                "--topo-cron-only", "--topo-cron-bucket", "--topo-cron-role", "--profile", "--role-arn",
                "--session-name", "--external-id")), "install.sh --help: %s" % r.stderr)
            r = subprocess.run(["./install.sh", "https://stackstate.example.com", API_KEY, "17"], cwd=root, env=env,
                               capture_output=True, text=True, timeout=300)
            check(r.returncode == 0 and "installed: 5 stacks" in r.stdout,
                  "AWS_PROFILE=p1 ./install.sh BASE_URL API_KEY ID: %s%s" % (r.stdout[-500:], r.stderr))
            check(len(aws.account()["stacks"]) == 5, "five stacks")
            check(API_KEY not in r.stdout + r.stderr, "no key printed")
            bad = script_env(aws, work, "nobody")
            r = subprocess.run(["./uninstall.sh", "17"], cwd=root, env=bad, capture_output=True, text=True)
            check(r.returncode == 2 and "nobody" in r.stderr and len(aws.account()["stacks"]) == 5,
                  "an unknown AWS_PROFILE: clear error, nothing touched: %s" % r.stderr)
            r = subprocess.run(["./uninstall.sh", "--profile", "p1", "17"], cwd=root, env=bad,
                               capture_output=True, text=True, timeout=300)
            check(r.returncode == 0 and "uninstalled" in r.stdout, "--profile overrides AWS_PROFILE: %s" % r.stderr)
            inv = aws.account()
            check(not inv["stacks"] and not inv["buckets"] and not inv["parameters"], "nothing left: %s"
                  % json.dumps(inv)[:300])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
