/* fuzz_intake_split.c -- the intake payload splitter (intake_split.c), which
 * cuts a payload the receiver refused as too large (HTTP 413) in two.
 * Input: the payload. Checks: a cut payload gives two non-empty parts whose
 * item counts add up to at least two; when the input is valid JSON, both
 * parts are too. */
#include <cJSON.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "intake.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int valid_json(const char *s, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(s, n);
    cJSON_Delete(j);
    return j != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    buf a = {0}, b = {0};
    size_t na = 0, nb = 0;
    char err[512] = "";
    int rc = intake_split((const char *)data, size, &a, &b, &na, &nb, err, sizeof err);
    if (rc == 0) {
        fuzz_check(na >= 1 && nb >= 1 && a.len && b.len, "two non-empty parts");
        if (valid_json((const char *)data, size))
            fuzz_check(valid_json(a.data, a.len) && valid_json(b.data, b.len), "the parts of valid JSON are JSON");
    } else if (rc < 0) {
        fuzz_check(err[0] != '\0', "a refusal says why");
    }
    buf_free(&a);
    buf_free(&b);
    return 0;
}
