/* creds.h -- AWS credentials and the provider chain users know from the AWS CLI.
 *
 * Sources, in the AWS CLI's order:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   2. a profile in ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,
 *      AWS_CONFIG_FILE, AWS_PROFILE / --profile), including role_arn +
 *      source_profile (+ external_id, role_session_name) and
 *      web_identity_token_file in a profile
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *   4. ECS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI
 *      (+ AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE])
 *   5. EC2 instance metadata, IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT,
 *      AWS_EC2_METADATA_DISABLED)
 * On top of whatever the chain yields, --role-arn / AWS_ROLE_ARN (when not
 * consumed by web identity) assumes that role with STS AssumeRole.
 * As in the AWS CLI, an explicit --profile (creds_options.profile) takes the
 * environment keys out of the chain; AWS_PROFILE does not.
 *
 * Implemented by creds.c (chain, cache), creds_profile.c (the two files) and
 * creds_sts.c (STS, ECS, IMDS); creds_internal.h is their shared contract.
 *
 * Temporary credentials carry an expiry; creds_get() refreshes them when fewer
 * than five minutes remain. Secrets are wiped from memory when freed and never
 * appear in error messages.
 */
#ifndef AWSTOPO_CREDS_H
#define AWSTOPO_CREDS_H

#include <time.h>

/* The region when neither a flag, the environment nor ~/.aws/config names
 * one: every default in awstopo is this one. */
#define DEFAULT_REGION "us-east-1"

typedef struct aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;      /* NULL for long-term keys */
    time_t expiration;        /* 0 = does not expire */
    char *source;             /* "env", "profile default", "assume-role", ... (no secrets) */
} aws_credentials;

/* Frees every field (wiping secrets) and zeroes the struct. */
void creds_clear(aws_credentials *c);
/* Deep copy into *dst (dst is overwritten, not freed). */
void creds_copy(aws_credentials *dst, const aws_credentials *src);

/* What the user asked for on the command line; NULL fields fall back to the
 * environment / config files as the AWS CLI does. */
typedef struct creds_options {
    const char *profile;         /* --profile */
    const char *role_arn;        /* --role-arn */
    const char *session_name;    /* --session-name (default "awstopo-<epoch>") */
    const char *external_id;     /* --external-id */
    const char *region;          /* region for the STS call (regional endpoint) */
    const char *sts_endpoint;    /* override for STS (tests); else AWS_ENDPOINT_URL_STS /
                                    AWS_ENDPOINT_URL / the regional endpoint */
    long timeout_ms;             /* per HTTP call of a provider; 0 = 5000 */
} creds_options;

typedef struct creds_provider creds_provider;

/* Builds a provider for these options. Resolves nothing yet. Caller frees with
 * creds_provider_free. Copies what it needs from opts. */
creds_provider *creds_provider_new(const creds_options *opts);
void creds_provider_free(creds_provider *p);

/* Returns current credentials, resolving or refreshing them (blocking) when
 * needed. On success returns 0 and *out points at provider-owned credentials,
 * valid until the next creds_get or creds_provider_free. On failure returns -1
 * and writes a message (no secrets) into err (size errlen). */
int creds_get(creds_provider *p, const aws_credentials **out, char *err, size_t errlen);

/* Forces the next creds_get to resolve again (e.g. after ExpiredToken). */
void creds_invalidate(creds_provider *p);

/* Reads a setting the way the AWS CLI does: the profile's entry in
 * ~/.aws/config (e.g. "region", "max_attempts", "retry_mode"), a value for the
 * same profile in ~/.aws/credentials winning; NULL when unset or when the
 * files cannot be read. profile NULL = AWS_PROFILE / AWS_DEFAULT_PROFILE /
 * "default". Caller frees. */
char *creds_config_value(const char *profile, const char *key);

#endif
