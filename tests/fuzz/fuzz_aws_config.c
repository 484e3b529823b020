/* fuzz_aws_config.c -- the AWS CLI's shared files, ~/.aws/config and
 * ~/.aws/credentials (creds_profile.c: ini_parse, aws_config_load and the
 * lookups the credential chain makes).
 *
 * Input: the config file, then a NUL byte, then the credentials file (no
 * NUL: both files get the whole input). They are read through
 * AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE as the chain reads them.
 * Checks: a parse failure says why and never quotes a value (values may be
 * secrets; the seeds' secrets carry the marker SECRETVALUE); every section
 * found can be looked up.
 */
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "creds_internal.h"
#include "fuzz.h"

static fuzz_file config, credentials;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(&config, "config");
    fuzz_file_open(&credentials, "credentials");
    setenv("AWS_CONFIG_FILE", config.path, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", credentials.path, 1);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_DEFAULT_PROFILE");
    return 0;
}

static const char *const keys[] = {"region", "role_arn", "source_profile", "credential_source",
                                   "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                                   "web_identity_token_file", "external_id", "role_session_name",
                                   "max_attempts", "retry_mode", "sso_session", NULL};

static void lookups(const aws_config *cfg, const ini_file *f)
{
    for (size_t i = 0; i < f->len; i++) {
        const char *name = f->sections[i].name;
        fuzz_check(aws_config_has_profile(cfg, name), "a section found is a profile");
        for (int k = 0; keys[k]; k++) aws_config_get(cfg, name, keys[k]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = size ? memchr(data, 0, size) : NULL;
    size_t clen = nul ? (size_t)(nul - data) : size;
    fuzz_file_set(&config, data, clen);
    if (nul) fuzz_file_set(&credentials, nul + 1, size - clen - 1);
    else fuzz_file_set(&credentials, data, size);

    aws_config cfg;
    char err[512] = "";
    if (aws_config_load(&cfg, err, sizeof err) == 0) {
        lookups(&cfg, &cfg.config);
        lookups(&cfg, &cfg.credentials);
    } else {
        fuzz_check(err[0] != '\0', "a parse failure says why");
        fuzz_check(!strstr(err, "SECRETVALUE"), "a parse failure quotes no value");
    }
    aws_config_free(&cfg);
    free(creds_config_value(NULL, "region"));   /* the public lookup, default profile */
    return 0;
}
