/* test_config.c -- the configuration file (config.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testlib.h"

static char path[64];

static void write_config(const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static const char *list_str(const strlist *l)
{
    static char out[512];
    out[0] = '\0';
    for (size_t i = 0; i < l->len; i++) {
        if (i) strcat(out, "|");
        strcat(out, l->items[i]);
    }
    return out;
}

/* The problem that mentions `what`, or NULL. */
static const char *problem_with(const awstopo_config *c, const char *what)
{
    for (size_t i = 0; i < c->problems.len; i++)
        if (strstr(c->problems.items[i], what)) return c->problems.items[i];
    return NULL;
}

static void clear_env(void)
{
    static const char *vars[] = { "AWSTOPO_STACKSTATE_URL", "AWSTOPO_API_KEY", "AWSTOPO_INSTANCE",
                                  "AWSTOPO_REGIONS", "AWSTOPO_SERVICES", "AWSTOPO_SPOOL", NULL };
    for (int i = 0; vars[i]; i++) unsetenv(vars[i]);
}

static void test_full_file(void)
{
    setenv("TEST_STS_KEY", "s3cr3t-key", 1);
    setenv("TEST_HOST", "sts.example.com", 1);
    write_config(
        "# awstopo configuration\n"
        "; another comment style\n"
        "\n"
        "[stackstate]\n"
        "url = https://${TEST_HOST}/receiver   ; trailing comment\n"
        "api_key = ${TEST_STS_KEY}\n"
        "instance = production-aws\n"
        "spool = /var/lib/awstopo/spool\n"
        "spool_max_mb = 256\n"
        "\n"
        "[scan]\n"
        "regions = eu-west-1, us-east-1  eu-central-1\n"
        "services = ec2,vpc , s3\n"
        "\n"
        "[account production]\n"
        "profile = prod\n"
        "role_arn = arn:aws:iam::111122223333:role/StackStateAwsIntegration\n"
        "external_id = ext-123\n"
        "session_name = awstopo\n"
        "account_id = 111122223333\n"
        "regions = eu-west-1\n"
        "\n"
        "[account staging]\n"
        "  profile   =   staging  \n"
        "\n"
        "[account]\n"
        "role_arn = arn:aws:iam::444455556666:role/x\n");
    awstopo_config c;
    char err[256] = "";
    CHECK(config_load(&c, path, err, sizeof err) == 0, "loads: %s", err);
    CHECK(c.problems.len == 0, "no problems (first: %s)", c.problems.len ? c.problems.items[0] : "");
    CHECK_STR(c.stackstate_url, "https://sts.example.com/receiver");
    CHECK_STR(c.api_key, "s3cr3t-key");
    CHECK_STR(c.instance, "production-aws");
    CHECK_STR(c.spool_dir, "/var/lib/awstopo/spool");
    CHECK(c.spool_max_mb == 256, "spool_max_mb %zu", c.spool_max_mb);
    CHECK_STR(list_str(&c.regions), "eu-west-1|us-east-1|eu-central-1");
    CHECK_STR(list_str(&c.services), "ec2|vpc|s3");

    CHECK(c.naccounts == 3, "%zu accounts", c.naccounts);
    if (c.naccounts == 3) {
        account_config *p = &c.accounts[0];
        CHECK_STR(p->name, "production");
        CHECK_STR(p->profile, "prod");
        CHECK_STR(p->role_arn, "arn:aws:iam::111122223333:role/StackStateAwsIntegration");
        CHECK_STR(p->external_id, "ext-123");
        CHECK_STR(p->session_name, "awstopo");
        CHECK_STR(p->account_id, "111122223333");
        CHECK_STR(list_str(&p->regions), "eu-west-1");
        account_config *s = &c.accounts[1];
        CHECK_STR(s->name, "staging");
        CHECK_STR(s->profile, "staging");
        CHECK(s->role_arn == NULL && s->regions.len == 0, "unset fields stay empty");
        CHECK_STR(c.accounts[2].name, "default");
        CHECK_STR(c.accounts[2].role_arn, "arn:aws:iam::444455556666:role/x");
    }
    config_free(&c);
    CHECK(c.api_key == NULL && c.naccounts == 0, "config_free empties");
    unsetenv("TEST_STS_KEY");
    unsetenv("TEST_HOST");
}

static void test_expansion(void)
{
    setenv("TEST_A", "alpha", 1);
    setenv("TEST_B", "beta", 1);
    unsetenv("TEST_UNSET");
    write_config(
        "[stackstate]\n"
        "url = ${TEST_A}-${TEST_B}/x${TEST_A}\n"
        "instance = [${TEST_UNSET}]\n"
        "spool = ${TEST_A\n"
        "api_key = $TEST_A {TEST_B}\n");
    awstopo_config c;
    char err[128];
    CHECK(config_load(&c, path, err, sizeof err) == 0, "loads");
    CHECK_STR(c.stackstate_url, "alpha-beta/xalpha");
    CHECK_STR(c.instance, "[]");                /* unset: empty */
    CHECK_STR(c.spool_dir, "${TEST_A");         /* unterminated: kept as written */
    CHECK_STR(c.api_key, "$TEST_A {TEST_B}");   /* only ${...} expands */
    config_free(&c);
    unsetenv("TEST_A");
    unsetenv("TEST_B");
}

static void test_problems(void)
{
    write_config(
        "orphan = 1\n"                 /* line 1 */
        "\n"
        "[stackstate]\n"               /* line 3 */
        "url = https://x\n"
        "colour = blue\n"              /* line 5 */
        "\n"
        "\n"
        "[scan\n"                      /* line 8 */
        "[weird]\n"                    /* line 9 */
        "key = value\n"                /* line 10 */
        "[scan]\n"
        "no equals sign here\n"        /* line 12 */
        "regions = eu-west-1\n"
        "[account prod]\n"
        "password = hunter2\n"         /* line 15 */
        "[accounting]\n");             /* line 16 */
    awstopo_config c;
    char err[128];
    CHECK(config_load(&c, path, err, sizeof err) == 0, "problems are not fatal");
    char want[256];
    const char *p;

    snprintf(want, sizeof want, "%s:1: 'orphan' outside a section", path);
    CHECK((p = problem_with(&c, "orphan")) && strcmp(p, want) == 0, "got %s, want %s", p, want);
    snprintf(want, sizeof want, "%s:5: unknown key 'colour' in this section", path);
    CHECK((p = problem_with(&c, "colour")) && strncmp(p, want, strlen(want)) == 0, "got %s, want %s", p, want);
    snprintf(want, sizeof want, "%s:8: section header without ']'", path);
    CHECK((p = problem_with(&c, "without ']'")) && strncmp(p, want, strlen(want)) == 0, "got %s, want %s", p, want);
    snprintf(want, sizeof want, "%s:9: unknown section [weird]", path);
    CHECK((p = problem_with(&c, "[weird]")) && strncmp(p, want, strlen(want)) == 0, "got %s, want %s", p, want);
    snprintf(want, sizeof want, "%s:10: 'key' outside a section", path);
    CHECK((p = problem_with(&c, "'key'")) && strcmp(p, want) == 0, "got %s, want %s", p, want);
    snprintf(want, sizeof want, "%s:12: expected 'key = value'", path);
    CHECK((p = problem_with(&c, "expected")) && strncmp(p, want, strlen(want)) == 0, "got %s, want %s", p, want);
    snprintf(want, sizeof want, "%s:15: unknown key 'password' in this section", path);
    CHECK((p = problem_with(&c, "password")) && strncmp(p, want, strlen(want)) == 0, "got %s, want %s", p, want);
    CHECK(strstr(p, "(known: profile, role_arn, external_id, session_name, account_id, regions)") != NULL,
          "the known keys are listed: %s", p);
    CHECK(!problem_with(&c, "hunter2"), "values are not repeated in problems");
    snprintf(want, sizeof want, "%s:16: unknown section [accounting]", path);
    CHECK((p = problem_with(&c, "[accounting]")) && strncmp(p, want, strlen(want)) == 0, "got %s, want %s", p, want);
    CHECK(strstr(p, "did you mean 'account'?") != NULL, "a near section is suggested: %s", p);
    CHECK(c.problems.len == 8, "%zu problems", c.problems.len);
    /* what was valid was still read */
    CHECK_STR(c.stackstate_url, "https://x");
    CHECK_STR(list_str(&c.regions), "eu-west-1");
    CHECK(c.naccounts == 1, "one account");
    config_free(&c);

    CHECK(config_load(&c, "/nonexistent/awstopo.conf", err, sizeof err) == -1, "missing file");
    CHECK(strstr(err, "cannot read config file /nonexistent/awstopo.conf") != NULL, "err: %s", err);
    config_free(&c);
    CHECK(config_load(&c, NULL, err, sizeof err) == 0 && c.stackstate_url == NULL, "no file: empty");
    config_free(&c);
}

static void test_line_endings(void)
{
    write_config("[stackstate]\r\nurl = https://crlf\r\n\r\nbogus = 1\r\n");
    awstopo_config c;
    char err[128];
    config_load(&c, path, err, sizeof err);
    CHECK_STR(c.stackstate_url, "https://crlf");
    char want[128];
    snprintf(want, sizeof want, "%s:4: unknown key 'bogus' in this section", path);
    CHECK(c.problems.len == 1 && strncmp(c.problems.items[0], want, strlen(want)) == 0, "CRLF line numbers: %s",
          c.problems.len ? c.problems.items[0] : "(none)");
    config_free(&c);
}

static void test_split_list(void)
{
    strlist l = {0};
    split_list("a, b c,,d\t e ,", &l);
    CHECK_STR(list_str(&l), "a|b|c|d|e");
    strlist_free(&l);
    split_list("", &l);
    CHECK(l.len == 0, "empty string: nothing");
    split_list(" , ,  ", &l);
    CHECK(l.len == 0, "separators only: nothing");
    split_list("all", &l);
    split_list("x,y", &l);
    CHECK_STR(list_str(&l), "all|x|y");   /* appends */
    strlist_free(&l);

    char *field = NULL;
    config_set(&field, "one");
    config_set(&field, "two");
    CHECK_STR(field, "two");
    config_set(&field, NULL);
    CHECK(field == NULL, "config_set NULL clears");
}

static void test_env_precedence(void)
{
    write_config(
        "[stackstate]\n"
        "url = https://from-file\n"
        "api_key = file-key\n"
        "instance = file-instance\n"
        "spool = /file/spool\n"
        "[scan]\n"
        "regions = eu-west-1\n"
        "services = ec2\n");
    awstopo_config c;
    char err[128];
    clear_env();
    config_load(&c, path, err, sizeof err);
    config_apply_env(&c);
    CHECK_STR(c.stackstate_url, "https://from-file");   /* no variables: the file */
    CHECK_STR(c.instance, "file-instance");
    config_free(&c);

    setenv("AWSTOPO_STACKSTATE_URL", "https://from-env", 1);
    setenv("AWSTOPO_API_KEY", "env-key", 1);
    setenv("AWSTOPO_INSTANCE", "env-instance", 1);
    setenv("AWSTOPO_SPOOL", "/env/spool", 1);
    setenv("AWSTOPO_REGIONS", "us-east-1,us-west-2", 1);
    setenv("AWSTOPO_SERVICES", "", 1);                  /* empty: ignored */
    config_load(&c, path, err, sizeof err);
    config_apply_env(&c);
    CHECK_STR(c.stackstate_url, "https://from-env");
    CHECK_STR(c.api_key, "env-key");
    CHECK_STR(c.instance, "env-instance");
    CHECK_STR(c.spool_dir, "/env/spool");
    CHECK_STR(list_str(&c.regions), "us-east-1|us-west-2");   /* replaced, not appended */
    CHECK_STR(list_str(&c.services), "ec2");
    config_free(&c);

    /* environment only (no file) */
    config_load(&c, NULL, err, sizeof err);
    config_apply_env(&c);
    CHECK_STR(c.stackstate_url, "https://from-env");
    CHECK_STR(list_str(&c.regions), "us-east-1|us-west-2");
    config_free(&c);
    clear_env();
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/awstopo-config.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) { perror("mkstemp"); return 2; }
    close(fd);
    test_full_file();
    test_expansion();
    test_problems();
    test_line_endings();
    test_split_list();
    test_env_precedence();
    unlink(path);
    return test_summary();
}
