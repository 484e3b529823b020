"""test_tls.py -- HTTPS to AWS, on both transfer paths (issue 9).

awstopo's own HTTP/1.1 client (core/http1.c) and libcurl (AWSTOPO_HTTP=curl)
against the fake AWS endpoint serving TLS with a certificate for "localhost"
from a throwaway CA that this test makes with `openssl` (no key is committed):

  a  AWS_CA_BUNDLE names the CA: a scan of the synthetic account succeeds,
     and both paths give the same topology byte for byte (and the same as
     plain HTTP)
  b  the wrong name (https://127.0.0.1, not in the certificate): a TLS error,
     nothing written, no secret in the message
  c  a CA the client does not trust (no AWS_CA_BUNDLE: the system store): a
     TLS error
  d  a CA bundle that does not exist: a TLS error naming the file

Run with /usr/bin/python3 from the repository root (tests/run does). The
last line is "N passed, N failed".
"""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakes                                              # noqa: E402
from checklib import Checks                               # noqa: E402

BIN = os.path.abspath(os.environ.get("AWSTOPO_BIN") or os.path.join(ROOT, "awstopo"))
ACCOUNT = "123456789012"
SIZE = 120
PATHS = (("own client", {}), ("libcurl", {"AWSTOPO_HTTP": "curl"}))
check = Checks()


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_certs(d):
    """A CA and a certificate for DNS:localhost that it signed; returns their paths."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=awstopo test CA", cwd=d)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    return [os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key")]


def scan(work, aws, url, name, **extra):
    out = os.path.join(work, name + ".json")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "AWSTOPO_", "SSL_CERT")) and "proxy" not in k.lower()}
    env.update(aws.env())
    env.update(AWS_ENDPOINT_URL=url, HOME=work, AWSTOPO_HOME=ROOT, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true",
               AWS_MAX_ATTEMPTS="1")
    env.update(extra)
    p = subprocess.run([BIN, "scan", "--account-id", ACCOUNT, "--format", "json", "--output", out],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    body = None
    if os.path.exists(out):
        with open(out, "rb") as f:
            body = f.read()
    return p.returncode, p.stderr.decode("utf-8", "replace"), body


def main():
    work = tempfile.mkdtemp(prefix="awstopo-tls-")
    aws = plain = None
    try:
        ca, cert, key = make_certs(work)
        aws = fakes.start_fake_aws(None, synthetic_account=SIZE, tls=(cert, key),
                                   log=os.path.join(work, "fake.log"))
        plain = fakes.start_fake_aws(None, synthetic_account=SIZE, log=os.path.join(work, "plain.log"))
        good = "https://localhost:%d" % aws.port

        rc, err, want = scan(work, plain, plain.url, "plain")
        check(rc == 0 and want, "a: plain HTTP scan: rc=%d %s" % (rc, err[-500:]))
        for label, mode in PATHS:
            rc, err, got = scan(work, aws, good, "tls-" + label.split()[0], AWS_CA_BUNDLE=ca, **mode)
            check(rc == 0, "a (%s): scan over TLS with AWS_CA_BUNDLE: rc=%d %s" % (label, rc, err[-800:]))
            check(got == want, "a (%s): the same topology as over plain HTTP" % label)

        for label, mode in PATHS:
            rc, err, got = scan(work, aws, "https://127.0.0.1:%d" % aws.port, "wrongname", AWS_CA_BUNDLE=ca, **mode)
            check(rc != 0 and "tls" in err.lower(), "b (%s): wrong host name fails as TLS: rc=%d %s"
                  % (label, rc, err[-800:]))
            check(aws.secret_key not in err, "b (%s): no secret in the message" % label)

            rc, err, got = scan(work, aws, good, "untrusted", **mode)
            check(rc != 0 and "tls" in err.lower() and "certificate" in err.lower(),
                  "c (%s): an untrusted CA fails as TLS: rc=%d %s" % (label, rc, err[-800:]))

            missing = os.path.join(work, "no-such-ca.pem")
            rc, err, got = scan(work, aws, good, "missingca", AWS_CA_BUNDLE=missing, **mode)
            check(rc != 0 and "tls" in err.lower() and missing in err,
                  "d (%s): a missing CA bundle is named: rc=%d %s" % (label, rc, err[-800:]))
    finally:
        for f in (aws, plain):
            if f:
                f.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.report()


if __name__ == "__main__":
    sys.exit(main())
