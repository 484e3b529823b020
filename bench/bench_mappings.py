"""bench_mappings.py -- how fast the mapping layer turns responses into components.

A synthetic account of N EC2 instances (DescribeInstances pages of 1000, as
the AWS CLI prints them) is replayed through the bundled ec2 mapping with
`awstopo scan --replay`: no network, so the figure is the engine + Lua mapping
+ component building + JSON encoding. Printed next to two references measured
in the same run on the same bytes:
  - decode only: the same replay through a mapping that walks the pages and
    emits nothing (what replaying and table-walking cost by themselves);
  - python json.load of the same recording (a floor for "read the data").
Figures, not a pass/fail test.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("AWSTOPO_BIN", os.path.join(REPO, "awstopo"))
SIZES = [int(x) for x in os.environ.get("BENCH_INSTANCES", "10000,50000").split(",")]
PAGE = 1000


def instance(i):
    return {
        "InstanceId": "i-%017x" % i,
        "ImageId": "ami-0abcdef1234567890",
        "InstanceType": "m5.large",
        "State": {"Code": 16, "Name": "running"},
        "PrivateDnsName": "ip-10-0-%d-%d.eu-west-1.compute.internal" % (i // 250 % 256, i % 250),
        "PrivateIpAddress": "10.0.%d.%d" % (i // 250 % 256, i % 250),
        "SubnetId": "subnet-%017x" % (i % 64),
        "VpcId": "vpc-%017x" % (i % 4),
        "LaunchTime": "2024-03-01T10:00:00+00:00",
        "Placement": {"AvailabilityZone": "eu-west-1a", "Tenancy": "default"},
        "SecurityGroups": [{"GroupId": "sg-%017x" % (i % 32), "GroupName": "web"},
                           {"GroupId": "sg-%017x" % (i % 32 + 32), "GroupName": "ssh"}],
        "Tags": [{"Key": "Name", "Value": "web-%d" % i}, {"Key": "team", "Value": "t%d" % (i % 10)},
                 {"Key": "env", "Value": "prod"}, {"Key": "cost-center", "Value": "cc-42"},
                 {"Key": "stackstate-identifier", "Value": "urn:service:/web-%d" % i}],
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                 "Ebs": {"VolumeId": "vol-%017x" % i, "Status": "attached",
                                         "AttachTime": "2024-03-01T10:00:01+00:00",
                                         "DeleteOnTermination": True}}],
        "NetworkInterfaces": [{"NetworkInterfaceId": "eni-%017x" % i, "SubnetId": "subnet-%017x" % (i % 64),
                               "PrivateIpAddress": "10.0.0.1", "Status": "in-use",
                               "Groups": [{"GroupId": "sg-%017x" % (i % 32), "GroupName": "web"}]}],
    }


def recording(n):
    pages = []
    for p in range(0, n, PAGE):
        token = "page%d" % (p // PAGE)
        nxt = "page%d" % (p // PAGE + 1) if p + PAGE < n else None
        reservations = [{"ReservationId": "r-%017x" % i, "OwnerId": "123456789012",
                         "Instances": [instance(i)]} for i in range(p, min(n, p + PAGE))]
        page = {"Reservations": reservations}
        if nxt:
            page["NextToken"] = nxt
        entry = {"response": page}
        if p:
            entry["params"] = {"NextToken": token}
        pages.append(entry)
    pages.reverse()   # specific (token) entries first, the first page last
    groups = [{"GroupId": "sg-%017x" % g, "GroupName": "g%d" % g, "VpcId": "vpc-%017x" % (g % 4),
               "OwnerId": "123456789012", "Description": "bench"} for g in range(64)]
    return {"DescribeInstances": pages, "DescribeSecurityGroups": [{"response": {"SecurityGroups": groups}}]}


NULL_MAPPING = """
-- walks the pages like ec2.lua, emits nothing: the decode-only reference
return { service = "ec2", scope = "regional", calls = { "DescribeInstances", "DescribeSecurityGroups" },
  types = {},
  scan = function(ctx)
    local n = 0
    for page in ctx.aws.paginate("DescribeInstances", { MaxResults = 1000 }) do
      for _, r in ipairs(page.Reservations) do n = n + #r.Instances end
    end
    for _ in ctx.aws.paginate("DescribeSecurityGroups", { MaxResults = 1000 }) do end
  end }
"""


def run(args, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("bench: %s failed" % " ".join(args))
    return wall, cpu, after.ru_maxrss, p.stderr


def main():
    print("%-34s %9s %8s %8s %10s %12s" % ("", "instances", "wall s", "cpu s", "maxrss MB", "comp/s"))
    for n in SIZES:
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "replay", "eu-west-1"))
            path = os.path.join(d, "replay", "eu-west-1", "ec2.json")
            with open(path, "w") as f:
                json.dump(recording(n), f)
            size_mb = os.path.getsize(path) / 1e6
            os.makedirs(os.path.join(d, "null"))
            with open(os.path.join(d, "null", "ec2.lua"), "w") as f:
                f.write(NULL_MAPPING)
            scan = [BIN, "scan", "--replay", os.path.join(d, "replay"), "--services", "ec2",
                    "--output", "/dev/null", "--format", "json"]
            wall, cpu, rss, err = run(scan)
            comps = n + 64
            print("%-34s %9d %8.2f %8.2f %10.1f %12.0f" % ("awstopo ec2 mapping", n, wall, cpu, rss / 1024,
                                                          comps / wall))
            wall0, cpu0, rss0, _ = run(scan + ["--mappings", os.path.join(d, "null")])
            print("%-34s %9d %8.2f %8.2f %10.1f %12s" % ("  reference: decode + walk only", n, wall0, cpu0,
                                                        rss0 / 1024, "-"))
            t0 = time.perf_counter()
            with open(path) as f:
                json.load(f)
            print("%-34s %9d %8.2f %8s %10s %12s" % ("  reference: python json.load", n,
                                                    time.perf_counter() - t0, "", "", "-"))
            print("%-34s %.1f MB recording; mapping layer alone: %.0f components/s" % (
                "", size_mb, comps / max(wall - wall0, 1e-9)))
    print("\nnote: maxrss is the largest child so far (ru_maxrss of RUSAGE_CHILDREN).")


if __name__ == "__main__":
    main()
