/* replay.c -- runs a harness on saved inputs, without libFuzzer.
 *
 *   build/fuzz-replay/fuzz_NAME FILE-OR-DIR...
 *
 * Calls LLVMFuzzerInitialize once, then LLVMFuzzerTestOneInput once per
 * file (directories: every regular file in them, sorted by name; a missing
 * directory counts as empty). An input that crashes the harness ends the
 * program there (the sanitizers print the report when it is built with
 * them, as make test-asan does); otherwise it prints "N passed, 0 failed".
 * Built with the ordinary compiler, so make test needs no clang.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fuzz.h"
#include "util.h"

static int run_file(const char *path, size_t *runs)
{
    buf b = {0};
    if (read_file(path, &b, 0) != 0) {
        fprintf(stderr, "FAIL cannot read %s: %s\n", path, strerror(errno));
        buf_free(&b);
        return -1;
    }
    /* A copy of exactly len bytes, so reading past the input is caught as
     * it is under libFuzzer. */
    uint8_t *data = xmalloc(b.len ? b.len : 1);
    if (b.len) memcpy(data, b.data, b.len);
    LLVMFuzzerTestOneInput(data, b.len);
    free(data);
    buf_free(&b);
    (*runs)++;
    return 0;
}

static int run_dir(const char *dir, size_t *runs)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) return errno == ENOENT ? 0 : (fprintf(stderr, "FAIL cannot read %s\n", dir), -1);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        buf path = {0};
        buf_printf(&path, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (names[i]->d_name[0] != '.' && stat(path.data, &st) == 0 && S_ISREG(st.st_mode) &&
            run_file(path.data, runs) != 0)
            rc = -1;
        buf_free(&path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    size_t runs = 0;
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int found = stat(argv[i], &st) == 0;
        int as_dir = found ? S_ISDIR(st.st_mode) : errno == ENOENT;
        if ((as_dir ? run_dir(argv[i], &runs) : run_file(argv[i], &runs)) != 0) failed++;
    }
    printf("%zu passed, %d failed\n", runs, failed);
    return failed != 0;
}
