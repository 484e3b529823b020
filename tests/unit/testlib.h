/* testlib.h -- the smallest test harness that does the job.
 *
 *   CHECK(cond, "fmt", ...)   counts a pass, or prints FAIL with file:line
 *   CHECK_STR(got, want)      string equality (NULL-safe)
 *   return test_summary();    prints "N passed, N failed", exit code
 */
#ifndef AWSTOPO_TESTLIB_H
#define AWSTOPO_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            test_passed++;                                                 \
        } else {                                                           \
            test_failed++;                                                 \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                    \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
        }                                                                  \
    } while (0)

#define CHECK_STR(got, want)                                               \
    do {                                                                   \
        const char *g_ = (got), *w_ = (want);                              \
        CHECK(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_,                   \
              "%s: got \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)",     \
              w_ ? w_ : "(null)");                                         \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
