/* test_creds.c -- the credentials provider chain against files written to a
 * temporary HOME and loopback fakes of STS, IMDS and ECS
 * (tests/fake/fake_creds.py, which checks SigV4 signatures with botocore).
 *
 * Every secret the tests use contains "sEcReT" or "tOkEn" (the fake's too),
 * so each error message is checked to contain neither.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "creds.h"
#include "creds_internal.h"
#include "http.h"
#include "testlib.h"

#define ROLE(name) "arn:aws:iam::123456789012:role/" name

static char home[256];        /* temporary HOME */
static char fake_url[64];     /* http://127.0.0.1:PORT */
static pid_t fake_pid;
static int fake_stdin = -1;   /* closing it stops the fake */
static char err[1024];

/* ---- helpers ---- */

static void check_no_secret_(const char *msg, int line)
{
    int leak = strstr(msg, "sEcReT") || strstr(msg, "tOkEn");
    CHECK(!leak, "line %d: error message leaks a secret: %s", line, msg);
}
#define CHECK_NO_SECRET(msg) check_no_secret_((msg), __LINE__)

static void start_fake(void)
{
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0) { perror("pipe"); exit(1); }
    setenv("FAKE_CREDS_KEYS",
           "AKIDENV:sEcReT-env,AKIDBASE:sEcReT-base,AKIDSELF:sEcReT-self,AKIDCFG:sEcReT-cfg", 1);
    fake_pid = fork();
    if (fake_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl("/usr/bin/python3", "python3", "tests/fake/fake_creds.py", (char *)NULL);
        perror("exec fake_creds.py");
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fake_stdin = in[1];
    char line[32] = "";
    FILE *f = fdopen(out[0], "r");
    if (!f || !fgets(line, sizeof line, f) || atoi(line) <= 0) {
        fprintf(stderr, "fake_creds.py did not start\n");
        exit(1);
    }
    fclose(f);
    snprintf(fake_url, sizeof fake_url, "http://127.0.0.1:%d", atoi(line));
}

static void stop_fake(void)
{
    close(fake_stdin);
    kill(fake_pid, SIGTERM);
    waitpid(fake_pid, NULL, 0);
}

/* GET on the fake; returns the body (caller frees) or NULL. */
static char *fake_get(const char *path, const char *hname, const char *hvalue, long *status)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", fake_url, path);
    http_request r;
    http_response resp;
    request_init(&r);
    request_set(&r.scheme, "http");
    request_set(&r.host, fake_url + 7);
    request_set(&r.path, path);
    if (hname) headers_set(&r.headers, hname, hvalue);
    char *body = NULL;
    char e[256];
    if (http_send_blocking(&r, &resp, 3000, e, sizeof e) == HTTP_OK) {
        if (status) *status = resp.status;
        body = xstrdup(buf_cstr(&resp.body));
        response_free(&resp);
    }
    request_free(&r);
    return body;
}

static void fake_ctl(const char *query)
{
    char path[128];
    snprintf(path, sizeof path, "/_ctl?%s", query);
    free(fake_get(path, NULL, NULL, NULL));
}

static cJSON *fake_json(const char *path)
{
    char *body = fake_get(path, NULL, NULL, NULL);
    cJSON *j = cJSON_Parse(body ? body : "null");
    free(body);
    return j;
}

static int fake_stat(const char *name)
{
    cJSON *j = fake_json("/_stats");
    const cJSON *v = cJSON_GetObjectItem(j, name);
    int n = cJSON_IsNumber(v) ? v->valueint : -1;
    cJSON_Delete(j);
    return n;
}

/* A field of the last STS call the fake saw: "signer", "region", "action",
 * or "params.<Name>". Caller frees; NULL when absent. */
static char *fake_last(const char *field)
{
    cJSON *j = fake_json("/_last");
    const cJSON *v = strncmp(field, "params.", 7) == 0
                         ? cJSON_GetObjectItem(cJSON_GetObjectItem(j, "params"), field + 7)
                         : cJSON_GetObjectItem(j, field);
    char *s = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
    cJSON_Delete(j);
    return s;
}

#define CHECK_LAST(field, want)             \
    do {                                    \
        char *got_ = fake_last(field);      \
        CHECK_STR(got_, want);              \
        free(got_);                         \
    } while (0)

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", home, rel);
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(1); }
    fputs(text, f);
    fclose(f);
}

static void make_dir(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", home, rel);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) { perror(path); exit(1); }
}

static void write_aws(const char *credentials, const char *config)
{
    char path[512];
    snprintf(path, sizeof path, "%s/.aws/credentials", home);
    unlink(path);
    if (credentials) write_file(".aws/credentials", credentials);
    snprintf(path, sizeof path, "%s/.aws/config", home);
    unlink(path);
    if (config) write_file(".aws/config", config);
}

/* A clean slate: no AWS variables, HOME in the temporary directory, no
 * files, IMDS off (it would otherwise try 169.254.169.254), the fake reset. */
static void reset(void)
{
    static const char *vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
        "AWS_METADATA_SERVICE_TIMEOUT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "http_proxy", "https_proxy",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);
    setenv("HOME", home, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    write_aws(NULL, NULL);
    fake_ctl("reset=1");
}

static creds_options opts_sts(void)
{
    creds_options o = {.sts_endpoint = fake_url, .timeout_ms = 3000};
    return o;
}

/* Resolves once with a fresh provider; copies the result into *c. */
static int resolve(const creds_options *o, aws_credentials *c)
{
    creds_provider *p = creds_provider_new(o);
    const aws_credentials *got = NULL;
    int rc = creds_get(p, &got, err, sizeof err);
    memset(c, 0, sizeof *c);
    if (rc == 0) creds_copy(c, got);
    else CHECK_NO_SECRET(err);
    creds_provider_free(p);
    return rc;
}

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- pure helpers ---- */

static void test_parse_time(void)
{
    CHECK(creds_parse_time("2024-05-01T12:00:00Z") == 1714564800, "plain Z");
    CHECK(creds_parse_time("2024-05-01T12:00:00.123Z") == 1714564800, "fraction");
    CHECK(creds_parse_time("2024-05-01T14:00:00+02:00") == 1714564800, "offset");
    CHECK(creds_parse_time("1970-01-01T00:00:00Z") == 0, "epoch");
    CHECK(creds_parse_time("2024-05-01 12:00:00") == -1, "no T");
    CHECK(creds_parse_time("2024-05-01T12:00:00Zjunk") == -1, "junk");
    CHECK(creds_parse_time("") == -1, "empty");
}

static void test_sts_endpoint(void)
{
    reset();
    char *e = creds_sts_endpoint(NULL, "eu-west-1");
    CHECK_STR(e, "https://sts.eu-west-1.amazonaws.com");
    free(e);
    e = creds_sts_endpoint(NULL, "cn-north-1");
    CHECK_STR(e, "https://sts.cn-north-1.amazonaws.com.cn");
    free(e);
    setenv("AWS_ENDPOINT_URL", "http://generic:1", 1);
    e = creds_sts_endpoint(NULL, "eu-west-1");
    CHECK_STR(e, "http://generic:1");
    free(e);
    setenv("AWS_ENDPOINT_URL_STS", "http://sts-only:2", 1);
    e = creds_sts_endpoint(NULL, "eu-west-1");
    CHECK_STR(e, "http://sts-only:2");
    free(e);
    e = creds_sts_endpoint("http://override:3", "eu-west-1");
    CHECK_STR(e, "http://override:3");
    free(e);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    e = creds_sts_endpoint(NULL, "us-west-2");
    CHECK_STR(e, "https://sts.us-west-2.amazonaws.com");
    free(e);
}

static void test_ini(void)
{
    const char *text =
        "# comment\n"
        "; another\n"
        "[default]\n"
        "region = eu-west-1\n"
        "[profile dev]\n"
        "  AWS_Access_Key_ID=AKIDDEV\n"
        "aws_secret_access_key: sEcReT-dev  \n"
        "s3 =\n"
        "    max_concurrent_requests = 20\n"
        "[profile \"quoted name\"]\n"
        "region = ap-south-1\n"
        "[notaprofile]\n"
        "region = nowhere\n"
        "[sso-session corp]\n"
        "sso_region = us-east-1\n"
        "[profile empty]\n"
        "output =\n";
    ini_file f = {.shown = xstrdup("cfg")};
    CHECK(ini_parse(&f, text, strlen(text), 1, err, sizeof err) == 0, "parse: %s", err);
    CHECK_STR(ini_get(ini_find(&f, "default"), "region"), "eu-west-1");
    CHECK_STR(ini_get(ini_find(&f, "dev"), "aws_access_key_id"), "AKIDDEV");
    CHECK_STR(ini_get(ini_find(&f, "dev"), "aws_secret_access_key"), "sEcReT-dev");
    CHECK_STR(ini_get(ini_find(&f, "dev"), "s3"), "\nmax_concurrent_requests = 20");
    CHECK_STR(ini_get(ini_find(&f, "quoted name"), "region"), "ap-south-1");
    CHECK(ini_find(&f, "notaprofile") == NULL, "[x] in config is not a profile");
    CHECK(ini_find(&f, "corp") == NULL && ini_find(&f, "sso-session corp") == NULL, "sso-session");
    CHECK(ini_find(&f, "empty") != NULL, "empty profile exists");
    CHECK(ini_get(ini_find(&f, "empty"), "output") == NULL, "empty value reads as unset");
    ini_free(&f);

    /* In the credentials file the section name is the profile name. */
    const char *creds = "[dev]\naws_access_key_id = A\n[profile x]\nk = v\n";
    ini_file c = {.shown = xstrdup("creds")};
    CHECK(ini_parse(&c, creds, strlen(creds), 0, err, sizeof err) == 0, "parse creds");
    CHECK_STR(ini_get(ini_find(&c, "dev"), "aws_access_key_id"), "A");
    CHECK(ini_find(&c, "profile x") != NULL, "credentials file keeps the name as is");
    ini_free(&c);

    const char *bad = "[default]\nregion = x\naws_secret_access_key sEcReT-oops\n";
    ini_file b = {.shown = xstrdup("~/.aws/credentials")};
    CHECK(ini_parse(&b, bad, strlen(bad), 0, err, sizeof err) == -1, "bad line rejected");
    CHECK(strstr(err, "~/.aws/credentials line 3") != NULL, "error names file and line: %s", err);
    CHECK_NO_SECRET(err);
    ini_free(&b);

    const char *orphan = "region = x\n[default]\n";
    ini_file o = {.shown = xstrdup("cfg")};
    CHECK(ini_parse(&o, orphan, strlen(orphan), 1, err, sizeof err) == -1, "key before section");
    ini_free(&o);
}

/* ---- sources ---- */

static void test_env(void)
{
    aws_credentials c;
    reset();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "sEcReT-env", 1);
    creds_options o = {0};
    CHECK(resolve(&o, &c) == 0, "env: %s", err);
    CHECK_STR(c.access_key_id, "AKIDENV");
    CHECK_STR(c.secret_access_key, "sEcReT-env");
    CHECK(c.session_token == NULL && c.expiration == 0, "long-term keys");
    CHECK_STR(c.source, "env");
    creds_clear(&c);

    setenv("AWS_SESSION_TOKEN", "tOkEn-env", 1);
    CHECK(resolve(&o, &c) == 0, "env token");
    CHECK_STR(c.session_token, "tOkEn-env");
    creds_clear(&c);

    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_SECURITY_TOKEN", "tOkEn-legacy", 1);
    CHECK(resolve(&o, &c) == 0, "legacy token");
    CHECK_STR(c.session_token, "tOkEn-legacy");
    creds_clear(&c);

    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(resolve(&o, &c) == -1, "key id without secret is an error");
    CHECK(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL, "names the missing variable: %s", err);
}

static void test_profile_static(void)
{
    aws_credentials c;
    creds_options o = {0};
    reset();
    write_aws("[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = sEcReT-def\n"
              "[both]\naws_access_key_id = AKIDCREDFILE\naws_secret_access_key = sEcReT-cf\n",
              "[default]\nregion = eu-west-1\n"
              "[profile dev]\naws_access_key_id = AKIDCFG\naws_secret_access_key = sEcReT-cfg\n"
              "aws_session_token = tOkEn-cfg\n"
              "[profile both]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = sEcReT-c2\n");
    CHECK(resolve(&o, &c) == 0, "default profile: %s", err);
    CHECK_STR(c.access_key_id, "AKIDDEF");
    CHECK_STR(c.source, "profile default");
    creds_clear(&c);

    o.profile = "dev";
    CHECK(resolve(&o, &c) == 0, "config-file profile: %s", err);
    CHECK_STR(c.access_key_id, "AKIDCFG");
    CHECK_STR(c.session_token, "tOkEn-cfg");
    CHECK_STR(c.source, "profile dev");
    creds_clear(&c);

    o.profile = NULL;
    setenv("AWS_PROFILE", "both", 1);
    CHECK(resolve(&o, &c) == 0, "AWS_PROFILE");
    CHECK_STR(c.access_key_id, "AKIDCREDFILE");   /* credentials file before config file */
    creds_clear(&c);

    unsetenv("AWS_PROFILE");
    setenv("AWS_DEFAULT_PROFILE", "dev", 1);
    CHECK(resolve(&o, &c) == 0, "AWS_DEFAULT_PROFILE");
    CHECK_STR(c.access_key_id, "AKIDCFG");
    creds_clear(&c);

    /* Explicit file locations, "~" expanded. */
    reset();
    make_dir("elsewhere");
    write_file("elsewhere/creds", "[default]\naws_access_key_id=AKIDX\naws_secret_access_key=sEcReT-x\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere/creds", 1);
    CHECK(resolve(&o, &c) == 0, "AWS_SHARED_CREDENTIALS_FILE: %s", err);
    CHECK_STR(c.access_key_id, "AKIDX");
    creds_clear(&c);

    /* Half a key pair is an error that names the keys, not their values. */
    reset();
    write_aws("[default]\naws_access_key_id = AKIDHALF\n", NULL);
    CHECK(resolve(&o, &c) == -1, "partial keys");
    CHECK(strstr(err, "aws_secret_access_key") != NULL, "partial keys message: %s", err);

    reset();
    write_aws(NULL, "[default]\ncredential_process = /bin/false\n");
    CHECK(resolve(&o, &c) == -1 && strstr(err, "credential_process"), "unsupported: %s", err);
}

static void test_chain_order(void)
{
    aws_credentials c;
    creds_options o = {0};
    reset();
    write_aws("[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = sEcReT-def\n"
              "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = sEcReT-dev\n",
              NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "sEcReT-env", 1);
    CHECK(resolve(&o, &c) == 0 && c.access_key_id && !strcmp(c.access_key_id, "AKIDENV"),
          "env wins over the default profile");
    creds_clear(&c);
    setenv("AWS_PROFILE", "dev", 1);
    CHECK(resolve(&o, &c) == 0 && c.access_key_id && !strcmp(c.access_key_id, "AKIDENV"),
          "env wins over AWS_PROFILE");
    creds_clear(&c);
    /* --profile takes env keys out of the chain, as in the AWS CLI. */
    o.profile = "dev";
    CHECK(resolve(&o, &c) == 0 && c.access_key_id && !strcmp(c.access_key_id, "AKIDDEV"),
          "--profile wins over env");
    creds_clear(&c);

    /* Profile before container and instance metadata. */
    reset();
    write_aws("[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = sEcReT-def\n", NULL);
    char url[128];
    snprintf(url, sizeof url, "%s/ecs/creds", fake_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-tOkEn-auth", 1);
    o.profile = NULL;
    CHECK(resolve(&o, &c) == 0 && !strcmp(c.access_key_id, "AKIDDEF"), "profile before container");
    CHECK(fake_stat("ecs") == 0, "container not asked");
    creds_clear(&c);
    write_aws(NULL, NULL);
    CHECK(resolve(&o, &c) == 0 && starts_with(c.access_key_id, "ASIAFAKE"), "then container");
    CHECK_STR(c.source, "container");
    creds_clear(&c);
}

static void test_missing_profile(void)
{
    aws_credentials c;
    creds_options o = {.profile = "nope"};
    reset();
    write_aws("[default]\naws_access_key_id = AKIDDEF\naws_secret_access_key = sEcReT-def\n", "");
    CHECK(resolve(&o, &c) == -1, "--profile nope fails");
    CHECK_STR(err, "profile 'nope' not found in ~/.aws/credentials, ~/.aws/config");
    o.profile = NULL;
    setenv("AWS_PROFILE", "nope", 1);
    CHECK(resolve(&o, &c) == -1 && strstr(err, "profile 'nope' not found"), "AWS_PROFILE=nope: %s", err);

    /* A missing implicit default is no error: the chain goes on. */
    reset();
    CHECK(resolve(&o, &c) == -1, "nothing configured");
    CHECK_STR(err, "no AWS credentials found: tried environment, profile 'default' "
                   "(~/.aws/credentials, ~/.aws/config), web identity, container, "
                   "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");

    /* A profile with settings but no credentials falls through too. */
    write_aws(NULL, "[default]\nregion = eu-west-1\n");
    CHECK(resolve(&o, &c) == -1 && starts_with(err, "no AWS credentials found"), "region-only: %s", err);

    /* Unreachable IMDS fails fast and says so. */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/", 1);
    time_t t0 = time(NULL);
    CHECK(resolve(&o, &c) == -1, "no IMDS");
    CHECK(time(NULL) - t0 <= 2, "IMDS failure is fast");
    CHECK(strstr(err, "instance metadata (http://127.0.0.1:1") != NULL, "IMDS note: %s", err);
}

static void test_config_value(void)
{
    reset();
    write_aws("[dev]\nregion = from-credentials-file\n",
              "[default]\nregion = eu-west-1\nmax_attempts = 7\n"
              "[profile ops]\nregion = us-west-2\n[profile dev]\nregion = shadowed\n");
    char *v = creds_config_value(NULL, "region");
    CHECK_STR(v, "eu-west-1");
    free(v);
    v = creds_config_value(NULL, "max_attempts");
    CHECK_STR(v, "7");
    free(v);
    v = creds_config_value("ops", "region");
    CHECK_STR(v, "us-west-2");
    free(v);
    v = creds_config_value("dev", "region");
    CHECK_STR(v, "from-credentials-file");
    free(v);
    setenv("AWS_PROFILE", "ops", 1);
    v = creds_config_value(NULL, "region");
    CHECK_STR(v, "us-west-2");
    free(v);
    CHECK(creds_config_value("ops", "retry_mode") == NULL, "unset key");
    CHECK(creds_config_value("ghost", "region") == NULL, "unknown profile");
}

static void test_source_profile(void)
{
    aws_credentials c;
    creds_options o = opts_sts();
    reset();
    write_aws("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = sEcReT-base\n",
              "[profile dev]\nrole_arn = " ROLE("ext-xyz42") "\nsource_profile = base\n"
              "external_id = xyz42\nrole_session_name = dev-session\nregion = eu-central-1\n"
              "[profile wrongext]\nrole_arn = " ROLE("ext-xyz42") "\nsource_profile = base\n"
              "external_id = nope\n");
    o.profile = "dev";
    time_t now = time(NULL);
    CHECK(resolve(&o, &c) == 0, "role_arn + source_profile: %s", err);
    CHECK(starts_with(c.access_key_id, "ASIAFAKE"), "assumed key %s", c.access_key_id);
    CHECK(c.session_token && strstr(c.session_token, "tOkEn-fake"), "session token");
    CHECK(c.expiration > now + 3000 && c.expiration < now + 3700, "expiration from STS");
    CHECK_STR(c.source, "profile dev: assume-role " ROLE("ext-xyz42"));
    creds_clear(&c);
    CHECK_LAST("action", "AssumeRole");
    CHECK_LAST("signer", "AKIDBASE");
    CHECK_LAST("region", "eu-central-1");          /* the profile's region */
    CHECK_LAST("params.ExternalId", "xyz42");
    CHECK_LAST("params.RoleSessionName", "dev-session");
    CHECK_LAST("params.RoleArn", ROLE("ext-xyz42"));

    o.profile = "wrongext";
    CHECK(resolve(&o, &c) == -1, "wrong external id refused");
    CHECK(starts_with(err, "AssumeRole " ROLE("ext-xyz42") " failed: AccessDenied: "), "%s", err);
}

static void test_role_chain(void)
{
    aws_credentials c;
    creds_options o = opts_sts();
    reset();
    write_aws("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = sEcReT-base\n"
              "[self]\naws_access_key_id = AKIDSELF\naws_secret_access_key = sEcReT-self\n"
              "role_arn = " ROLE("self-role") "\nsource_profile = self\n",
              "[profile a]\nrole_arn = " ROLE("a") "\nsource_profile = b\n"
              "[profile b]\nrole_arn = " ROLE("b") "\nsource_profile = base\n"
              "[profile loop1]\nrole_arn = " ROLE("l1") "\nsource_profile = loop2\n"
              "[profile loop2]\nrole_arn = " ROLE("l2") "\nsource_profile = loop1\n"
              "[profile dangling]\nrole_arn = " ROLE("d") "\nsource_profile = ghost\n"
              "[profile both]\nrole_arn = " ROLE("x") "\nsource_profile = base\n"
              "credential_source = Environment\n"
              "[profile neither]\nrole_arn = " ROLE("x") "\n"
              "[profile mfa]\nrole_arn = " ROLE("x") "\nsource_profile = base\nmfa_serial = arn:mfa\n");
    o.profile = "a";
    CHECK(resolve(&o, &c) == 0, "two-hop chain: %s", err);
    CHECK(fake_stat("assume_role") == 2, "two AssumeRole calls");
    char *signer = fake_last("signer");
    CHECK(starts_with(signer, "ASIAFAKE"), "second hop signed with the first hop's keys: %s", signer);
    free(signer);
    CHECK_LAST("params.RoleArn", ROLE("a"));
    CHECK(starts_with(c.access_key_id, "ASIAFAKE"), "final creds");
    creds_clear(&c);

    reset();
    write_aws("[self]\naws_access_key_id = AKIDSELF\naws_secret_access_key = sEcReT-self\n"
              "role_arn = " ROLE("self-role") "\nsource_profile = self\n", NULL);
    o.profile = "self";
    CHECK(resolve(&o, &c) == 0, "self-referencing profile: %s", err);
    CHECK_LAST("signer", "AKIDSELF");
    CHECK_LAST("params.RoleArn", ROLE("self-role"));
    creds_clear(&c);

    reset();
    write_aws("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = sEcReT-base\n",
              "[profile loop1]\nrole_arn = " ROLE("l1") "\nsource_profile = loop2\n"
              "[profile loop2]\nrole_arn = " ROLE("l2") "\nsource_profile = loop1\n"
              "[profile dangling]\nrole_arn = " ROLE("d") "\nsource_profile = ghost\n"
              "[profile both]\nrole_arn = " ROLE("x") "\nsource_profile = base\n"
              "credential_source = Environment\n"
              "[profile neither]\nrole_arn = " ROLE("x") "\n"
              "[profile mfa]\nrole_arn = " ROLE("x") "\nsource_profile = base\nmfa_serial = arn:mfa\n"
              "[profile badsrc]\nrole_arn = " ROLE("x") "\ncredential_source = Moon\n");
    o.profile = "loop1";
    CHECK(resolve(&o, &c) == -1, "loop detected");
    CHECK(strstr(err, "loop1 -> loop2 -> loop1") != NULL, "loop path: %s", err);
    CHECK(fake_stat("assume_role") == 0, "no STS call on a loop");
    o.profile = "dangling";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "source_profile 'ghost' of profile 'dangling' not found"),
          "dangling: %s", err);
    o.profile = "both";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "exactly one of"), "both: %s", err);
    o.profile = "neither";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "exactly one of"), "neither: %s", err);
    o.profile = "mfa";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "mfa_serial"), "mfa: %s", err);
    o.profile = "badsrc";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "unknown credential_source 'Moon'"), "badsrc: %s", err);
}

static void test_credential_source(void)
{
    aws_credentials c;
    creds_options o = opts_sts();
    reset();
    write_aws(NULL, "[profile fromenv]\nrole_arn = " ROLE("r-env") "\ncredential_source = Environment\n"
                    "[profile fromimds]\nrole_arn = " ROLE("r-imds") "\ncredential_source = Ec2InstanceMetadata\n"
                    "[profile fromecs]\nrole_arn = " ROLE("r-ecs") "\ncredential_source = EcsContainer\n");
    o.profile = "fromenv";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "credential_source Environment has no credentials"),
          "no env keys: %s", err);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "sEcReT-env", 1);
    CHECK(resolve(&o, &c) == 0, "credential_source Environment: %s", err);
    CHECK_LAST("signer", "AKIDENV");
    CHECK_LAST("params.RoleArn", ROLE("r-env"));
    creds_clear(&c);

    o.profile = "fromimds";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "disabled by AWS_EC2_METADATA_DISABLED"),
          "IMDS disabled: %s", err);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_url, 1);
    CHECK(resolve(&o, &c) == 0, "credential_source Ec2InstanceMetadata: %s", err);
    char *signer = fake_last("signer");
    CHECK(starts_with(signer, "ASIAFAKE"), "signed with IMDS keys: %s", signer);
    free(signer);
    CHECK(fake_stat("imds_creds") == 1, "IMDS asked once");
    creds_clear(&c);

    o.profile = "fromecs";
    char url[128];
    snprintf(url, sizeof url, "%s/ecs/creds", fake_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-tOkEn-auth", 1);
    CHECK(resolve(&o, &c) == 0, "credential_source EcsContainer: %s", err);
    CHECK(fake_stat("ecs") == 1, "ECS asked once");
    CHECK_LAST("params.RoleArn", ROLE("r-ecs"));
    creds_clear(&c);
}

static void test_profile_web_identity_and_duration(void)
{
    aws_credentials c;
    creds_options o = opts_sts();
    reset();
    write_file("jwt", "jwt-tOkEn-from-profile\n");
    write_aws(NULL, "[profile wi]\nrole_arn = " ROLE("wi") "\nweb_identity_token_file = ~/jwt\n"
                    "role_session_name = wi-session\n"
                    "[profile short]\nrole_arn = " ROLE("short") "\nsource_profile = base\n"
                    "duration_seconds = 900\n"
                    "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = sEcReT-base\n"
                    "[profile nofile]\nrole_arn = " ROLE("wi") "\nweb_identity_token_file = ~/missing\n");
    o.profile = "wi";
    CHECK(resolve(&o, &c) == 0, "profile web identity: %s", err);
    CHECK_LAST("action", "AssumeRoleWithWebIdentity");
    CHECK_LAST("params.WebIdentityToken", "jwt-tOkEn-from-profile");
    CHECK_LAST("params.RoleSessionName", "wi-session");
    CHECK_STR(c.source, "profile wi: web-identity " ROLE("wi"));
    creds_clear(&c);

    o.profile = "nofile";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "cannot read token file"), "missing token file: %s", err);

    o.profile = "short";
    time_t now = time(NULL);
    CHECK(resolve(&o, &c) == 0, "duration_seconds: %s", err);
    CHECK_LAST("params.DurationSeconds", "900");
    CHECK(c.expiration >= now + 890 && c.expiration <= now + 910, "900 s credentials");
    creds_clear(&c);
}

static void test_web_identity_env(void)
{
    aws_credentials c;
    creds_options o = opts_sts();
    char path[512];
    reset();
    write_file("token", "jwt-tOkEn-env");
    snprintf(path, sizeof path, "%s/token", home);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
    CHECK(resolve(&o, &c) == -1 && strstr(err, "AWS_ROLE_ARN is not"), "no role: %s", err);
    setenv("AWS_ROLE_ARN", ROLE("web"), 1);
    setenv("AWS_ROLE_SESSION_NAME", "web-session", 1);
    CHECK(resolve(&o, &c) == 0, "web identity: %s", err);
    CHECK(starts_with(c.access_key_id, "ASIAFAKE"), "web identity key");
    CHECK_STR(c.source, "web-identity " ROLE("web"));
    CHECK_LAST("action", "AssumeRoleWithWebIdentity");
    CHECK_LAST("params.WebIdentityToken", "jwt-tOkEn-env");
    CHECK_LAST("params.RoleSessionName", "web-session");
    CHECK(fake_stat("assume_role") == 0, "AWS_ROLE_ARN consumed by web identity, not assumed again");
    creds_clear(&c);

    /* --role-arn still goes on top. */
    o.role_arn = ROLE("on-top");
    CHECK(resolve(&o, &c) == 0, "web identity + --role-arn: %s", err);
    CHECK(fake_stat("web_identity") == 2 && fake_stat("assume_role") == 1, "two calls");
    CHECK_LAST("params.RoleArn", ROLE("on-top"));
    creds_clear(&c);
    o.role_arn = NULL;

    write_file("token", "bad-tOkEn");
    CHECK(resolve(&o, &c) == -1, "bad token");
    CHECK(starts_with(err, "AssumeRoleWithWebIdentity " ROLE("web") " failed: InvalidIdentityToken: "),
          "%s", err);
}

static void test_container(void)
{
    aws_credentials c;
    creds_options o = {.timeout_ms = 3000};
    char url[128], path[512];
    reset();
    snprintf(url, sizeof url, "%s/ecs/creds", fake_url);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    CHECK(resolve(&o, &c) == -1 && strstr(err, "HTTP 401"), "no Authorization: %s", err);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-tOkEn-wrong", 1);
    CHECK(resolve(&o, &c) == -1 && strstr(err, "HTTP 401"), "wrong Authorization: %s", err);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-tOkEn-auth", 1);
    time_t now = time(NULL);
    CHECK(resolve(&o, &c) == 0, "container: %s", err);
    CHECK(starts_with(c.access_key_id, "ASIAFAKE") && c.session_token, "container keys");
    CHECK(c.expiration > now + 3000, "container expiration");
    creds_clear(&c);

    /* The token file wins over the variable; a trailing newline is dropped. */
    write_file("ecs-token", "ecs-tOkEn-auth\n");
    snprintf(path, sizeof path, "%s/ecs-token", home);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-tOkEn-wrong", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    CHECK(resolve(&o, &c) == 0, "token file: %s", err);
    creds_clear(&c);

    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://198.51.100.7/creds", 1);
    CHECK(resolve(&o, &c) == -1 && strstr(err, "not allowed"), "non-loopback http refused: %s", err);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "ftp://127.0.0.1/x", 1);
    CHECK(resolve(&o, &c) == -1 && strstr(err, "not an http(s) URL"), "bad scheme: %s", err);
}

static void test_imds(void)
{
    aws_credentials c;
    creds_options o = {.timeout_ms = 3000};
    reset();
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_url, 1);
    time_t now = time(NULL);
    CHECK(resolve(&o, &c) == 0, "IMDS: %s", err);
    CHECK(starts_with(c.access_key_id, "ASIAFAKE") && c.session_token, "IMDS keys");
    CHECK(c.expiration > now + 3000, "IMDS expiration");
    CHECK_STR(c.source, "instance-metadata awstopo-test-role");
    CHECK(fake_stat("imds_token") == 1 && fake_stat("imds_role") == 1 && fake_stat("imds_creds") == 1,
          "token, role, credentials");
    creds_clear(&c);

    /* The fake really insists on the session token. */
    long status = 0;
    free(fake_get("/latest/meta-data/iam/security-credentials/", NULL, NULL, &status));
    CHECK(status == 401, "IMDS without token: %ld", status);
    free(fake_get("/latest/meta-data/iam/security-credentials/", "X-aws-ec2-metadata-token", "forged",
                  &status));
    CHECK(status == 401, "IMDS with a forged token: %ld", status);

    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    CHECK(resolve(&o, &c) == -1 && strstr(err, "disabled by"), "disabled: %s", err);
}

static void test_assume_on_top(void)
{
    aws_credentials c;
    creds_options o = opts_sts();
    reset();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "sEcReT-env", 1);
    o.role_arn = ROLE("ext-abc");
    o.external_id = "abc";
    o.session_name = "my-session";
    o.region = "ap-southeast-2";
    CHECK(resolve(&o, &c) == 0, "--role-arn: %s", err);
    CHECK_STR(c.source, "assume-role " ROLE("ext-abc"));
    CHECK_LAST("signer", "AKIDENV");
    CHECK_LAST("region", "ap-southeast-2");
    CHECK_LAST("params.ExternalId", "abc");
    CHECK_LAST("params.RoleSessionName", "my-session");
    creds_clear(&c);

    /* AWS_ROLE_ARN without web identity; default session name; region from env. */
    o = opts_sts();
    setenv("AWS_ROLE_ARN", ROLE("plain"), 1);
    setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
    CHECK(resolve(&o, &c) == 0, "AWS_ROLE_ARN: %s", err);
    CHECK_LAST("params.RoleArn", ROLE("plain"));
    CHECK_LAST("region", "eu-north-1");
    char *session = fake_last("params.RoleSessionName");
    CHECK(starts_with(session, "awstopo-") && atol(session + 8) > 1600000000, "default session %s",
          session);
    free(session);
    CHECK(fake_last("params.ExternalId") == NULL, "no ExternalId unless asked");
    creds_clear(&c);

    /* Region falls back to the profile's, then us-east-1. */
    unsetenv("AWS_DEFAULT_REGION");
    write_aws(NULL, "[default]\nregion = sa-east-1\n");
    CHECK(resolve(&o, &c) == 0, "profile region");
    CHECK_LAST("region", "sa-east-1");
    creds_clear(&c);
    write_aws(NULL, NULL);
    CHECK(resolve(&o, &c) == 0, "default region");
    CHECK_LAST("region", "us-east-1");
    creds_clear(&c);

    /* AWS_ENDPOINT_URL_STS points at the fake too. */
    setenv("AWS_ENDPOINT_URL_STS", fake_url, 1);
    o.sts_endpoint = NULL;
    CHECK(resolve(&o, &c) == 0, "AWS_ENDPOINT_URL_STS: %s", err);
    creds_clear(&c);
}

static void test_sts_errors(void)
{
    aws_credentials c;
    creds_options o = opts_sts();
    reset();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "sEcReT-env", 1);
    setenv("AWS_SESSION_TOKEN", "tOkEn-env-unused", 1);
    o.role_arn = ROLE("denied");
    CHECK(resolve(&o, &c) == -1, "denied");
    CHECK_STR(err, "AssumeRole " ROLE("denied") " failed: AccessDenied: User: "
                   "arn:aws:iam::123456789012:user/tester is not authorized to perform: "
                   "sts:AssumeRole on resource: " ROLE("denied"));

    /* The fake checks signatures for real: a wrong secret is caught. (The
     * static key carries no token, so drop it.) */
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_SECRET_ACCESS_KEY", "sEcReT-wrong", 1);
    o.role_arn = ROLE("fine");
    CHECK(resolve(&o, &c) == -1 && strstr(err, "failed: SignatureDoesNotMatch: "), "bad sig: %s", err);

    o.sts_endpoint = "http://127.0.0.1:1";
    CHECK(resolve(&o, &c) == -1 && starts_with(err, "AssumeRole " ROLE("fine") " failed: "),
          "unreachable STS: %s", err);
    o.sts_endpoint = "not a url";
    CHECK(resolve(&o, &c) == -1 && strstr(err, "STS endpoint"), "bad endpoint: %s", err);
}

static void test_cache_and_refresh(void)
{
    creds_options o = opts_sts();
    const aws_credentials *c = NULL;
    char first[64];
    reset();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "sEcReT-env", 1);
    o.role_arn = ROLE("refresh");
    creds_provider *p = creds_provider_new(&o);

    /* Credentials expiring within five minutes are fetched again. */
    fake_ctl("expire_in=120");
    CHECK(creds_get(p, &c, err, sizeof err) == 0, "first: %s", err);
    snprintf(first, sizeof first, "%s", c->access_key_id);
    CHECK(c->expiration - time(NULL) <= 121, "expires in two minutes");
    CHECK(creds_get(p, &c, err, sizeof err) == 0, "second: %s", err);
    CHECK(strcmp(first, c->access_key_id) != 0, "refreshed: %s then %s", first, c->access_key_id);
    CHECK(fake_stat("assume_role") == 2, "two calls");

    /* Long-lived ones are served from the cache. */
    fake_ctl("expire_in=3600");
    CHECK(creds_get(p, &c, err, sizeof err) == 0, "third");
    const aws_credentials *cached = c;
    snprintf(first, sizeof first, "%s", c->access_key_id);
    CHECK(creds_get(p, &c, err, sizeof err) == 0 && c == cached && !strcmp(first, c->access_key_id),
          "cached");
    CHECK(fake_stat("assume_role") == 3, "no call for a cached answer");

    creds_invalidate(p);
    CHECK(creds_get(p, &c, err, sizeof err) == 0 && strcmp(first, c->access_key_id) != 0,
          "invalidate forces a refresh");
    CHECK(fake_stat("assume_role") == 4, "refetched after invalidate");

    /* A failed refresh keeps serving unexpired credentials, unless invalidated. */
    fake_ctl("expire_in=120");
    creds_invalidate(p);
    CHECK(creds_get(p, &c, err, sizeof err) == 0, "short-lived");
    snprintf(first, sizeof first, "%s", c->access_key_id);
    fake_ctl("fail_sts=1");
    CHECK(creds_get(p, &c, err, sizeof err) == 0 && !strcmp(first, c->access_key_id),
          "refresh failure falls back to unexpired credentials");
    creds_invalidate(p);
    CHECK(creds_get(p, &c, err, sizeof err) == -1 && c == NULL, "invalidated and failing");
    CHECK(strstr(err, "Throttling") != NULL, "STS error reported: %s", err);
    CHECK_NO_SECRET(err);
    fake_ctl("fail_sts=0");
    CHECK(creds_get(p, &c, err, sizeof err) == 0, "recovers");
    creds_provider_free(p);

    /* Non-expiring keys stay cached; a provider built from NULL options works. */
    creds_provider *q = creds_provider_new(NULL);
    unsetenv("AWS_ROLE_ARN");
    CHECK(creds_get(q, &c, err, sizeof err) == 0 && c->expiration == 0, "env via NULL options");
    cached = c;
    CHECK(creds_get(q, &c, err, sizeof err) == 0 && c == cached, "long-term keys cached");
    creds_provider_free(q);
}

static void test_clear_and_copy(void)
{
    aws_credentials a = {xstrdup("AKID"), xstrdup("sEcReT"), NULL, 42, xstrdup("env")}, b;
    creds_copy(&b, &a);
    CHECK_STR(b.access_key_id, "AKID");
    CHECK_STR(b.secret_access_key, "sEcReT");
    CHECK(b.session_token == NULL && b.expiration == 42, "copy");
    CHECK(b.secret_access_key != a.secret_access_key, "deep copy");
    creds_clear(&a);
    creds_clear(&b);
    CHECK(a.access_key_id == NULL && a.secret_access_key == NULL && a.expiration == 0, "cleared");
}

int main(void)
{
    snprintf(home, sizeof home, "%s/awstopo-creds.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(home)) { perror("mkdtemp"); return 1; }
    make_dir(".aws");
    start_fake();

    test_parse_time();
    test_sts_endpoint();
    test_ini();
    test_clear_and_copy();
    test_env();
    test_profile_static();
    test_chain_order();
    test_missing_profile();
    test_config_value();
    test_source_profile();
    test_role_chain();
    test_credential_source();
    test_profile_web_identity_and_duration();
    test_web_identity_env();
    test_container();
    test_imds();
    test_assume_on_top();
    test_sts_errors();
    test_cache_and_refresh();

    stop_fake();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", home);
    return test_summary();
}
