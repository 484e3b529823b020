"""checklib.py -- the counting check of the integration tests: check(cond, what)
prints FAIL and the description of each failed check; check.report() prints the
"N passed, N failed" line tests/run reads and returns the exit code."""


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL", what)
        return cond

    def report(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0
