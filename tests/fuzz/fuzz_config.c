/* fuzz_config.c -- awstopo's configuration file parser (config.c,
 * config_load): the input is the file (gzipped or not), read through a path
 * as awstopo reads it. Checks: loading succeeds (problems are collected, not
 * fatal) unless the file is a broken gzip stream, and every problem names
 * the file. */
#include <string.h>

#include "config.h"
#include "fuzz.h"

static fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(&file, "awstopo.conf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_set(&file, data, size);
    awstopo_config c;
    char err[512] = "";
    int rc = config_load(&c, file.path, err, sizeof err);
    /* A broken gzip stream is the one thing that fails the load (as
     * "cannot read config file"); any other text loads, with problems. */
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    fuzz_check(rc == 0 || (gz && err[0]), "a readable config file loads");
    for (size_t i = 0; i < c.problems.len; i++)
        fuzz_check(strncmp(c.problems.items[i], file.path, strlen(file.path)) == 0, "a problem names the file");
    config_free(&c);
    return 0;
}
