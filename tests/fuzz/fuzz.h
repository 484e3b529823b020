/* fuzz.h -- what the libFuzzer harnesses in tests/fuzz/ share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize). It is linked two ways (Makefile, docs/fuzzing.md):
 *   - with clang -fsanitize=fuzzer,address,undefined: the fuzzer (make fuzz);
 *   - with replay.c and the ordinary compiler: a program that runs the
 *     harness once per file named on its command line (make test replays
 *     tests/fuzz/regressions/<name>/ and the seed corpus that way).
 * A harness must not keep state between inputs beyond what its
 * LLVMFuzzerInitialize sets up, and must free everything it allocates per
 * input (LeakSanitizer runs under the fuzzer). A finding is a crash, a
 * sanitizer report or an abort() from a harness's own check (fuzz_check).
 */
#ifndef AWSTOPO_FUZZ_H
#define AWSTOPO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A harness's own property check: abort() (a finding) with a message. */
#define fuzz_check(cond, what)                                                         \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, what); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Splits data at the first '\n': *line = data[0..line_len), the rest after
 * the newline in *rest / *rest_len. Without a newline the whole input is
 * the line and the rest is empty. */
void fuzz_first_line(const uint8_t *data, size_t size, const char **line, size_t *line_len,
                     const char **rest, size_t *rest_len);

/* A file descriptor (memfd) whose contents a harness replaces per input, for
 * code that reads a path: fuzz_file_path() names it ("/proc/self/fd/N"). */
typedef struct fuzz_file {
    int fd;
    char path[64];
} fuzz_file;
void fuzz_file_open(fuzz_file *f, const char *name);
void fuzz_file_set(fuzz_file *f, const void *data, size_t len);

#endif
