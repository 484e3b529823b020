"""recorded.py -- the recorded responses the fake AWS endpoint replays.

Layout (see README.md): DIR/<service>/<Operation>.json holds one response
object or a list of them; DIR/<service>/_routes.json optionally adds rest
routes. Each response may carry a "match" subset of the request parameters;
the first entry that matches wins. Files are re-read when they change, so a
test may rewrite a fixture while the fake runs.
"""

import json
import os
import threading


class FixtureError(Exception):
    pass


def _scalar_equal(want, got):
    if isinstance(got, str) and not isinstance(want, str):
        if isinstance(want, bool):
            want = "true" if want else "false"
        return str(want) == got
    return want == got


def matches(want, params):
    """True if every key of want is in params with an equal value.

    A want value of null means "absent"; a dict value matches recursively
    (subset); anything else compares equal (numbers/bools against strings by
    their text, so {"MaxResults": 5} matches the query parameter "5").
    """
    for key, value in want.items():
        if value is None:
            if key in params:
                return False
            continue
        if key not in params:
            return False
        got = params[key]
        if isinstance(value, dict) and isinstance(got, dict):
            if not matches(value, got):
                return False
        elif not _scalar_equal(value, got):
            return False
    return True


class Response:
    """One recorded response: status, headers, body bytes, optional limits."""

    def __init__(self, entry, base_dir):
        self.match = entry.get("match") or {}
        self.status = int(entry.get("status", 200))
        self.headers = dict(entry.get("headers") or {})
        self.times = entry.get("times")          # serve at most this many times
        self.delay_ms = entry.get("delay_ms", 0)
        self.protocol = entry.get("protocol")    # only for requests in this protocol
        self.body = self._body(entry, base_dir)

    @staticmethod
    def _body(entry, base_dir):
        if "body_file" in entry:
            with open(os.path.join(base_dir, entry["body_file"]), "rb") as f:
                return f.read()
        if "json" in entry:
            return json.dumps(entry["json"]).encode()
        return str(entry.get("body", "")).encode()


class FixtureStore:
    """Fixture files under one directory, cached by modification time."""

    def __init__(self, root):
        self.root = root
        self._lock = threading.Lock()
        self._files = {}          # path -> (mtime, [Response])
        self._served = {}         # (path, index) -> times served

    def _load(self, path):
        mtime = os.stat(path).st_mtime_ns
        cached = self._files.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except ValueError as e:
                raise FixtureError("%s: %s" % (path, e)) from None
        entries = data if isinstance(data, list) else [data]
        responses = [Response(e, os.path.dirname(path)) for e in entries]
        self._files[path] = (mtime, responses)
        return responses

    def path(self, service, operation):
        return os.path.join(self.root or "", service, operation + ".json")

    def has(self, service, operation):
        return bool(self.root) and os.path.isfile(self.path(service, operation))

    def routes(self, service):
        """Entries of DIR/<service>/_routes.json, or []."""
        path = os.path.join(self.root or "", service, "_routes.json")
        if not self.root or not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def find(self, service, operation, params, protocol=None):
        """The first Response matching params (counting its use), or None."""
        if not self.has(service, operation):
            return None
        path = self.path(service, operation)
        with self._lock:
            for i, response in enumerate(self._load(path)):
                used = self._served.get((path, i), 0)
                if response.times is not None and used >= response.times:
                    continue
                if response.protocol and protocol and response.protocol != protocol:
                    continue
                if matches(response.match, params):
                    self._served[(path, i)] = used + 1
                    return response
        return None

    def reset_counters(self):
        with self._lock:
            self._served.clear()
