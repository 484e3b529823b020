"""test_config_accounts.py -- `awstopo config accounts`: the accounts one central
awstopo scans, from the [account] sections and from the AWS Organization
(the fake's organization, tests/fake/stacksets.py).

Checks: the configured accounts listed without any AWS call; --organization lists
every ACTIVE account with the StackSet's role (the management account marked,
configured ones not repeated, excluded ones left out, pages followed); --ou takes
an OU and the OUs below it; --format ini writes [account] sections that
`config check` accepts and that `config accounts` then lists as configured;
[organization] keys are checked; Organizations' refusals are clear errors.
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
check = checklib.Checks()
PROD, TEAM = "ou-a1b2-prod0001", "ou-a1b2-team0001"


def run(env, *args):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSTOPO_"))}
    e.update(env)
    return subprocess.run([BIN, "config", "accounts"] + list(args), capture_output=True, text=True, env=e)


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def rows(out):
    """{account id or name: the row's words} of a table."""
    table = {}
    for line in out.splitlines()[1:]:
        words = line.split()
        if len(words) >= 3:
            table[words[1] if words[1][:1].isdigit() else words[0]] = words
    return table


def main():
    tmp = tempfile.mkdtemp(prefix="awstopo-accounts-")
    conf = write(tmp, "a.conf", "[account production]\nrole_arn = arn:aws:iam::111111111111:role/Mine\n"
                                "external_id = x1\n\n[account staging]\nprofile = staging\nregions = eu-west-1\n")
    p = run({}, conf)
    t = rows(p.stdout)
    check(p.returncode == 0 and p.stdout.startswith("NAME"), "configured accounts: %d %r" % (p.returncode, p.stderr))
    check(t.get("111111111111", [None, None, None])[2] == "config" and "arn:aws:iam::111111111111:role/Mine" in p.stdout,
          "an account by its role: %s" % t)
    check("staging" in t and "(looked" in t["staging"] and "profile staging, regions eu-west-1" in p.stdout,
          "an account by its profile")

    with fakes.start_fake_aws(None, account={"organization": True}) as aws:
        env = aws.env()
        p = run(env, conf, "--organization")
        t = rows(p.stdout)
        check(p.returncode == 0, "--organization: %d %r" % (p.returncode, p.stderr))
        org_ids = ["210987654321", "222222222222", "333333333333", "444444444444"]
        check(all(t.get(a, [None] * 3)[2] == "organization" for a in org_ids), "every member account: %s" % t)
        for a in org_ids:
            check("role arn:aws:iam::%s:role/StackStateTopoRole" % a in p.stdout, "%s through the StackSet role" % a)
        check("123456789012" in t and "management account" in " ".join(t["123456789012"]),
              "the management account is marked")
        org_rows = [line for line in p.stdout.splitlines() if " organization " in line]
        check([line for line in org_rows if " 111111111111 " in line and line.endswith("configured above")],
              "a configured account is not offered again: %s" % org_rows)
        calls = aws.stats()["requests"].get("organizations", {})
        check(calls.get("ListAccounts", 0) >= 1 and calls.get("DescribeOrganization") == 1,
              "Organizations asked: %s" % calls)

        # the [organization] section: OUs (and the OUs below), exclude, role, external id, pages
        oconf = write(tmp, "o.conf", "[organization]\nous = %s\nexclude = 222222222222\nrole_name = TopoReader\n"
                                     "external_id = ext-9\nregions = eu-west-1, us-east-1\n" % PROD)
        p = run(env, oconf)
        t = rows(p.stdout)
        check(p.returncode == 0 and sorted(k for k in t if k[:1].isdigit()) == ["111111111111", "333333333333"],
              "an OU and its child OU, excluded left out: %s %r" % (sorted(t), p.stderr))
        check("role arn:aws:iam::333333333333:role/TopoReader (external id)" in p.stdout, "role_name, external id")
        calls = aws.stats()["requests"]["organizations"]
        check(calls.get("ListAccountsForParent", 0) >= 2 and calls.get("ListOrganizationalUnitsForParent", 0) >= 2,
              "walked the OU tree: %s" % calls)
        p = run(env, oconf, "--ou", TEAM, "--role-name", "Other")
        t = rows(p.stdout)
        check(sorted(k for k in t if k[:1].isdigit()) == ["333333333333"] and ":role/Other" in p.stdout,
              "--ou and --role-name override the section")

        # --format ini, appended to the file, is a valid configuration listing them as configured
        p = run(env, conf, "--organization", "--format", "ini")
        check(p.returncode == 0 and p.stdout.count("[account ") == 4 and "; 123456789012" in p.stdout
              and "account-111111111111" not in p.stdout,
              "ini: a section per member account not configured, the management account as a comment: %r" % p.stdout)
        check("role_arn = arn:aws:iam::444444444444:role/StackStateTopoRole" in p.stdout, "ini role_arn")
        with open(conf, "a") as f:
            f.write("\n" + p.stdout)
        chk = subprocess.run([BIN, "config", "check", conf], capture_output=True, text=True)
        check(chk.returncode == 0 and "6 account(s)" in chk.stdout, "config check accepts it: %r" % chk.stdout)
        p = run(env, conf, "--organization")
        check(p.stdout.count("configured above") == 5, "then they are all configured: %r" % p.stdout)

        # refusals
        aws.control(account={})
        p = run(env, conf, "--organization")
        check(p.returncode == 2 and "organizations DescribeOrganization: AWSOrganizationsNotInUseException" in p.stderr,
              "no organization: %r" % p.stderr)
        aws.control(account={"organization": {"root": "r-a1b2", "management": "999999999999",
                                              "accounts": ["123456789012"]}})
        p = run(env, conf, "--organization")
        check(p.returncode == 2 and "AccessDeniedException" in p.stderr, "a member account: %r" % p.stderr)

    bad = write(tmp, "bad.conf", "[organization]\nous = ou-bad\nexclude = 12345\nrole_name = a b\nfoo = 1\n")
    chk = subprocess.run([BIN, "config", "check", bad], capture_output=True, text=True)
    for expect in ("'ou-bad' is not an OU or root id", "'12345' is not a 12-digit account id",
                   "role_name 'a b' is not an IAM role name", "unknown key 'foo'"):
        check(chk.returncode == 2 and expect in chk.stdout, "config check: %r in %r" % (expect, chk.stdout))
    p = run({}, bad)
    check(p.returncode == 2 and "'ou-bad'" in p.stderr and p.stdout == "", "config accounts refuses it too")
    for args, expect in [(["--format", "xml"], "--format is table or ini"), ([conf, conf], "unexpected"),
                         (["--bogus"], "unexpected '--bogus'")]:
        p = run({}, *args)
        check(p.returncode == 64 and expect in p.stderr, "%s: %r" % (args, p.stderr))
    h = run({}, "--help")
    check(h.returncode == 0 and all(o in h.stdout for o in ("--organization", "--ou", "--role-name", "--format")),
          "--help")
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
