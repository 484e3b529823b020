"""checklib.py -- the counting check of the integration tests.

    check = checklib.Checks()          check(cond, what[, detail])
    check = checklib.NamedChecks()     check(name, cond[, detail]), prints "ok   name" too

A failed check prints FAIL, its description and the detail (what was seen);
check.report() prints the "N passed, N failed" line tests/run reads and returns
the exit code. Every check returns cond, so a test can stop on a failure."""


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL", what)
            if detail != "":
                print("    " + str(detail).replace("\n", "\n    "))
        return cond

    def report(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


class NamedChecks(Checks):
    """Names each check on its own line, passed or not (the longer suites, whose
    output is read to see how far they got); the detail is cut to `limit`
    characters (None: whole), its last ones with tail=True (a scan's stderr,
    whose end says why)."""

    def __init__(self, limit=2000, tail=False):
        super().__init__()
        self.limit = limit
        self.tail = tail

    def __call__(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            text = str(detail)
            if self.limit is not None:
                text = text[-self.limit:] if self.tail else text[:self.limit]
            print("FAIL %s %s" % (name, text))
        return cond
