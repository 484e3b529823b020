"""fakes.py -- start and stop the fake AWS endpoint and StackState receiver.

For integration tests (run with /usr/bin/python3):

    sys.path.insert(0, "tests/fake"); import fakes
    aws = fakes.start_fake_aws("tests/fake/fixtures-selftest", throttle_rate=0.1)
    env = dict(os.environ, **aws.env())       # AWS_ENDPOINT_URL, keys, region
    subprocess.run([awstopo, "scan", ...], env=env)
    aws.stats()["requests"]["ec2"]; aws.control(fail=["DescribeVpcs:2:throttle"])
    aws.stop()

    rx = fakes.start_receiver(out="/tmp/x.jsonl")
    rx.intake_url  -> http://127.0.0.1:N/stsAgent/intake  (api key: rx.api_key)
    rx.payloads(); rx.control(status=503, count=2); rx.restart()

Both run as subprocesses; every one still alive is stopped at interpreter
exit. Secrets go to the fakes through a 0600 temp file or the environment,
never the command line.
"""

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# Test credentials the fake accepts unless told otherwise.
ACCESS_KEY = "AKIDFAKETEST00000001"
SECRET_KEY = "fakeSecretKey/For+Tests/0000000000000000"
REGION = "us-east-1"
API_KEY = "fake-receiver-api-key"

_live = []


def _stop_all():
    for proc in list(_live):
        proc.stop()


atexit.register(_stop_all)


class FakeProcess:
    """A fake run as a child process that prints "PORT <n>" first."""

    def __init__(self, argv, env=None, log=None, startup_timeout=15):
        self.argv = argv
        self.child_env = env            # the child's environment (None: inherit)
        self.log = log                  # file for the child's stderr (None: inherit)
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None

    def start(self, port=None):
        argv = list(self.argv) + (["--port", str(port)] if port else [])
        stderr = open(self.log, "ab") if self.log else None
        try:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr,
                                         env=self.child_env)
        finally:
            if stderr:
                stderr.close()
        self.port = self._read_port()
        _live.append(self)
        return self

    def _read_port(self):
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0, left))
            chunk = self.proc.stdout.read1(256) if ready else b""
            if not chunk:
                self.proc.kill()
                raise RuntimeError("%s did not print its port" % os.path.basename(self.argv[1]))
            line += chunk
        if not line.startswith(b"PORT "):
            raise RuntimeError("unexpected first line %r" % line)
        return int(line.split()[1])

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if self in _live:
            _live.remove(self)

    def get_json(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def post_json(self, path, value):
        req = urllib.request.Request(self.url + path, data=json.dumps(value).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("control failed: %s" % e.read().decode()) from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class FakeAws(FakeProcess):
    """A running fake_aws.py. .env() gives the variables a client needs."""

    def __init__(self, argv, tmpdir, access_key, secret_key, region, log=None):
        super().__init__(argv, log=log)
        self.tmpdir = tmpdir
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def env(self, token=None):
        env = {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": self.access_key,
               "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_DEFAULT_REGION": self.region,
               "AWS_REGION": self.region}
        if token:
            env["AWS_SESSION_TOKEN"] = token
        return env

    def stats(self):
        return self.get_json("/__stats")

    def requests(self):
        return self.get_json("/__requests")

    def account(self):
        """What the stateful install account holds (install_account.py), or None."""
        return self.get_json("/__account")

    def control(self, **settings):
        return self.post_json("/__control", settings)

    def stop(self):
        super().stop()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def start_fake_aws(fixtures=None, creds=None, port=None, verbose=False, log=None, tls=None,
                   **settings):
    """Starts fake_aws.py; returns a FakeAws.

    fixtures: directory of recorded responses. creds: list of
    "AKID:SECRET[:TOKEN]" (default: ACCESS_KEY/SECRET_KEY). log: file for
    stderr (the access log with verbose=True). settings: any
    POST /__control key (throttle_rate=0.2, fail=[...], expired_tokens=[...],
    synthetic=1000, latency_ms=50, seed=1, missing="empty", ...). tls: (certificate
    file, key file) to serve HTTPS (.url stays http://127.0.0.1: the test
    builds its https:// URL for the name in its certificate).
    """
    tmpdir = tempfile.mkdtemp(prefix="fake-aws-")
    config = dict(settings, creds=creds or ["%s:%s" % (ACCESS_KEY, SECRET_KEY)])
    if fixtures:
        config["fixtures"] = os.path.abspath(fixtures)
    path = os.path.join(tmpdir, "config.json")
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        json.dump(config, f)
    argv = [PYTHON, os.path.join(HERE, "fake_aws.py"), "--config", path]
    if verbose:
        argv.append("--verbose")
    if tls:
        argv += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    first = (creds or ["%s:%s" % (ACCESS_KEY, SECRET_KEY)])[0].split(":")
    fake = FakeAws(argv, tmpdir, first[0], first[1], REGION, log)
    return fake.start(port)


class FakeReceiver(FakeProcess):
    """A running fake_receiver.py. restart() brings it back on the same port."""

    def __init__(self, argv, env, api_key, log=None):
        super().__init__(argv, env, log)
        self.api_key = api_key

    @property
    def intake_url(self):
        return self.url + "/stsAgent/intake"

    def payloads(self, since=0):
        return self.get_json("/__payloads?since=%d" % since)

    def stats(self):
        return self.get_json("/__stats")

    def control(self, **settings):
        return self.post_json("/__control", settings)

    def restart(self, down_seconds=0):
        port = self.port
        self.stop()
        time.sleep(down_seconds)
        return self.start(port)


def start_receiver(api_key=API_KEY, out=None, port=None, max_body=0, verbose=False,
                   log=None, max_bytes=0):
    """Starts fake_receiver.py; returns a FakeReceiver."""
    argv = [PYTHON, os.path.join(HERE, "fake_receiver.py")]
    if out:
        argv += ["--out", out]
    if max_body:
        argv += ["--max-body", str(max_body)]
    if max_bytes:
        argv += ["--max-bytes", str(max_bytes)]
    if verbose:
        argv.append("--verbose")
    env = dict(os.environ, FAKE_RECEIVER_API_KEYS=api_key)
    return FakeReceiver(argv, env, api_key, log).start(port)


def write_fixtures(directory, responses):
    """Writes {"service/Operation": [entries]} as fixture files; returns directory."""
    for name, entries in responses.items():
        service, operation = name.split("/")
        os.makedirs(os.path.join(directory, service), exist_ok=True)
        with open(os.path.join(directory, service, operation + ".json"), "w") as f:
            json.dump(entries, f, indent=1)
    return directory


def start_kinesalite(port=None, log=None):
    """Starts kinesalite (tools/node, from tools/setup.sh) on loopback: a
    FakeProcess whose .url is the Kinesis endpoint. Raises when node or the
    package is missing."""
    script = os.path.join(HERE, "kinesalite.js")
    if not shutil.which("node"):
        raise RuntimeError("node is not installed (tools/setup.sh installs it)")
    if not os.path.isdir(os.path.join(HERE, "..", "..", "tools", "node", "node_modules", "kinesalite")):
        raise RuntimeError("kinesalite is not installed in tools/node (run tools/setup.sh)")
    return FakeProcess(["node", script], None, log).start(port)
