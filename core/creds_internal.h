/* creds_internal.h -- what the three files of the credentials module share.
 *
 *   creds.c          the chain, the cache, the environment provider, region and
 *                    STS endpoint resolution
 *   creds_profile.c  the INI parser for ~/.aws/credentials and ~/.aws/config
 *                    and the profile provider (static keys, role_arn chains,
 *                    web_identity_token_file)
 *   creds_sts.c      everything that talks HTTP: STS AssumeRole and
 *                    AssumeRoleWithWebIdentity, ECS container credentials,
 *                    EC2 instance metadata (IMDSv2)
 *
 * Nothing outside these files should include this header (unit tests may).
 */
#ifndef AWSTOPO_CREDS_INTERNAL_H
#define AWSTOPO_CREDS_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "creds.h"

/* What a provider returns. CREDS_NONE means "not configured here, try the
 * next one"; CREDS_ERROR means "configured but broken", which stops the chain
 * (as in the AWS CLI). Both write a message into err (for NONE it is a note
 * such as why instance metadata was not reachable, possibly empty). */
enum { CREDS_ERROR = -1, CREDS_FOUND = 0, CREDS_NONE = 1 };

/* Seconds before expiry at which cached credentials are refreshed. */
#define CREDS_REFRESH_MARGIN 300

/* ---- shared config files (creds_profile.c) ---- */

/* One file parsed: sections keyed by profile name, each a list of key/value
 * pairs. Keys are lower-cased; values may be secrets and are wiped on free. */
typedef struct ini_entry {
    char *key;
    char *value;
} ini_entry;

typedef struct ini_section {
    char *name;              /* profile name ("profile " prefix already removed) */
    ini_entry *items;
    size_t len, cap;
} ini_section;

typedef struct ini_file {
    char *path;              /* as opened, "~" expanded */
    char *shown;             /* path for messages: $HOME shortened to "~" */
    ini_section *sections;
    size_t len, cap;
} ini_file;

/* The two files together. A profile's settings are the merge of its section
 * in both, the credentials file winning (as botocore merges them). */
typedef struct aws_config {
    ini_file credentials;
    ini_file config;
} aws_config;

/* Reads both files (a missing file is an empty one). Returns 0, or -1 with a
 * message (file and line, never a value) when a file cannot be read or parsed.
 * Either way the caller frees cfg with aws_config_free (a failed load keeps
 * what it read before the failure). */
int aws_config_load(aws_config *cfg, char *err, size_t errlen);
void aws_config_free(aws_config *cfg);   /* wipes every value */
/* Parses INI text into f (for tests and aws_config_load). is_config selects
 * the ~/.aws/config rules ("[profile x]", "[default]"). */
int ini_parse(ini_file *f, const char *text, size_t len, int is_config, char *err, size_t errlen);
void ini_free(ini_file *f);
const ini_section *ini_find(const ini_file *f, const char *name);
const char *ini_get(const ini_section *s, const char *key);   /* NULL when unset or empty */

int aws_config_has_profile(const aws_config *cfg, const char *profile);
/* The merged value of key in profile; NULL when unset. Borrowed from cfg. */
const char *aws_config_get(const aws_config *cfg, const char *profile, const char *key);

/* ---- one resolution of the chain (creds.c) ---- */

typedef struct creds_ctx {
    const creds_options *opts;   /* the provider's own copy */
    const char *profile;         /* active profile name */
    int profile_explicit;        /* named by --profile / AWS_PROFILE / AWS_DEFAULT_PROFILE */
    time_t now;
    long timeout_ms;             /* per HTTP call (IMDS uses its own, shorter one) */
    aws_config *cfg;             /* loaded on first use */
    char *region;                /* resolved on first use */
} creds_ctx;

/* The active profile: opt, else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else
 * "default". *is_explicit is set unless it fell back to "default". */
const char *creds_profile_name(const char *opt, int *is_explicit);
/* Loads the config files once per resolution; NULL with err on failure. */
aws_config *creds_ctx_config(creds_ctx *ctx, char *err, size_t errlen);
/* Region for STS: opts->region, AWS_REGION, AWS_DEFAULT_REGION, the profile's
 * region, "us-east-1". Borrowed from ctx. */
const char *creds_ctx_region(creds_ctx *ctx);
/* The STS endpoint URL: override, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, or
 * https://sts.<region>.amazonaws.com(.cn). Caller frees. */
char *creds_sts_endpoint(const char *override, const char *region);
/* "awstopo-<epoch>" into out. */
void creds_default_session_name(time_t now, char *out, size_t outlen);

/* ---- providers ---- */

int creds_from_env(aws_credentials *out, char *err, size_t errlen);                    /* creds.c */
int creds_from_profile(creds_ctx *ctx, aws_credentials *out, char *err, size_t errlen); /* creds_profile.c */
int creds_from_container(creds_ctx *ctx, aws_credentials *out, char *err, size_t errlen);
int creds_from_imds(creds_ctx *ctx, aws_credentials *out, char *err, size_t errlen);

/* What an STS role assumption needs besides the base credentials. */
typedef struct sts_role {
    const char *role_arn;
    const char *session_name;    /* required */
    const char *external_id;     /* NULL = none */
    int duration_seconds;        /* 0 = STS default */
} sts_role;

/* AssumeRole, signed with base. Returns 0, or -1 with a message such as
 * "AssumeRole arn:... failed: AccessDenied: ...". */
int creds_sts_assume_role(creds_ctx *ctx, const aws_credentials *base, const sts_role *role,
                          aws_credentials *out, char *err, size_t errlen);
/* AssumeRoleWithWebIdentity (unsigned) with the token read from token_file. */
int creds_sts_web_identity(creds_ctx *ctx, const char *token_file, const sts_role *role,
                           aws_credentials *out, char *err, size_t errlen);

/* ---- helpers ---- */

/* ISO-8601 UTC ("2024-05-01T12:00:00Z", fractions and "+00:00" accepted) to
 * epoch seconds; -1 when malformed. (creds_sts.c) */
time_t creds_parse_time(const char *s);
/* Appends to a buffer holding a secret: when it must grow, the old block is
 * wiped instead of being left behind by realloc. (creds_profile.c) */
void creds_buf_append_secret(buf *b, const void *p, size_t n);
/* Removes trailing blanks and newlines, zeroing them. (creds_profile.c) */
void creds_trim_secret(buf *b);

#endif
