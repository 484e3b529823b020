/* test_sink_stackstate.c -- the StackState sink against the recording receiver.
 *
 * Starts tests/fake/fake_receiver.py (from the repository root, where
 * tests/run runs us) and drives it through its /__control endpoint: failures,
 * outages, a wrong key, size limits. Checks that payloads arrive complete, in
 * order and exactly once, that undeliverable ones stay in the spool, that
 * payloads too large are cut until they go and those refused for good are
 * moved to rejected/ without blocking the rest, and that the API key shows up
 * in no message and no spool file.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "intake.h"
#include "sink.h"
#include "spool.h"
#include "testlib.h"
#include "util.h"

#define API_KEY "sts-test-key-4f1d9c2a7b"
#define RECEIVER "tests/fake/fake_receiver.py"

static char root[] = "/tmp/awstopo-test-sink-ss.XXXXXX";
static char out_file[256];
static pid_t receiver_pid;
static int port;

/* ---- the receiver process ---- */

/* Starts the receiver (on `want_port`, 0 = any) and reads its "PORT n" line. */
static int receiver_start(int want_port)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%d", want_port);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", RECEIVER, "--api-key", API_KEY, "--out", out_file,
              "--port", port_arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[64] = "";
    size_t n = 0;
    while (n + 1 < sizeof line) {
        ssize_t r = read(fds[0], line + n, 1);
        if (r <= 0 || line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    if (sscanf(line, "PORT %d", &port) != 1) {
        printf("receiver did not start: \"%s\"\n", line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    receiver_pid = pid;
    return 0;
}

static void receiver_stop(void)
{
    if (receiver_pid <= 0) return;
    kill(receiver_pid, SIGTERM);
    waitpid(receiver_pid, NULL, 0);
    receiver_pid = 0;
}

/* One request to the receiver's control side; returns the status, body in *body. */
static long receiver_call(const char *method, const char *path, const char *json, buf *body)
{
    http_request req;
    http_response resp;
    request_init(&req);
    request_set(&req.method, method);
    request_set(&req.scheme, "http");
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    request_set(&req.host, host);
    char *q = strchr(path, '?');
    if (q) {
        char p[128];
        snprintf(p, sizeof p, "%.*s", (int)(q - path), path);
        request_set(&req.path, p);
        request_set(&req.query, q + 1);
    } else {
        request_set(&req.path, path);
    }
    if (json) {
        headers_add(&req.headers, "Content-Type", "application/json");
        buf_puts(&req.body, json);
    }
    char err[256];
    long status = 0;
    if (http_send_blocking(&req, &resp, 5000, err, sizeof err) == HTTP_OK) {
        status = resp.status;
        if (body) buf_append(body, resp.body.data, resp.body.len);
        response_free(&resp);
    } else {
        printf("control %s %s: %s\n", method, path, err);
    }
    request_free(&req);
    return status;
}

static void control(const char *json)
{
    long st = receiver_call("POST", "/__control", json, NULL);
    if (st != 200) printf("control %s -> %ld\n", json, st);
}

static int payloads_seen;   /* receiver payloads already looked at */

/* The payloads the receiver accepted since the last call (a cJSON array). */
static cJSON *new_payloads(void)
{
    buf b = {0};
    char path[64];
    snprintf(path, sizeof path, "/__payloads?since=%d", payloads_seen);
    receiver_call("GET", path, NULL, &b);
    cJSON *arr = cJSON_Parse(buf_cstr(&b));
    buf_free(&b);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return cJSON_CreateArray();
    }
    payloads_seen += cJSON_GetArraySize(arr);
    return arr;
}

/* The externalIds of the components of the received payloads, joined by ','. */
static char *received_ids(cJSON *arr)
{
    buf b = {0};
    cJSON *entry, *c;
    cJSON_ArrayForEach(entry, arr) {
        cJSON *topo = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(entry, "payload"), "topologies"), 0);
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(topo, "components")) {
            if (b.len) buf_putc(&b, ',');
            buf_puts(&b, cJSON_GetStringValue(cJSON_GetObjectItem(c, "externalId")));
        }
    }
    return buf_steal(&b);
}

/* ---- helpers ---- */

/* n payloads, one component each, ids "<prefix>0".."<prefix>n-1". */
static void make_payloads(payload_list *l, const char *prefix, int n, size_t pad)
{
    topology t;
    topology_init(&t);
    for (int i = 0; i < n; i++) {
        buf id = {0}, j = {0};
        buf_printf(&id, "%s%d", prefix, i);
        buf_printf(&j, "{\"externalId\":\"%s\",\"type\":{\"name\":\"aws.test\"},\"data\":{\"pad\":\"", id.data);
        for (size_t k = 0; k < pad; k++) buf_putc(&j, (char)('a' + (k * 7919 + (size_t)i) % 26));
        buf_puts(&j, "\"}}");
        topology_add(&t, TOPO_COMPONENT, id.data, j.data, j.len);
        buf_free(&id);
        buf_free(&j);
    }
    intake_options o = { .hostname = "test-host", .instance_url = "acct", .max_items = 1 };
    intake_build(&t, &o, INTAKE_INCREMENTAL, l);
    topology_free(&t);
}

static char *spool_path(const char *name)
{
    buf b = {0};
    buf_printf(&b, "%s/%s", root, name);
    return buf_steal(&b);
}

static char *base_url(const char *suffix)
{
    buf b = {0};
    buf_printf(&b, "http://127.0.0.1:%d%s", port, suffix);
    return buf_steal(&b);
}

static stackstate_sink *new_sink(const char *url_suffix, const char *spool_name, const char *key, size_t spool_max)
{
    char *url = base_url(url_suffix), *dir = spool_path(spool_name);
    stackstate_options o = { .base_url = url, .api_key = key, .spool_dir = dir, .spool_max_bytes = spool_max,
                             .max_attempts = 3, .retry_base_ms = 10, .timeout_ms = 5000 };
    char err[512];
    stackstate_sink *s = stackstate_sink_new(&o, err, sizeof err);
    if (!s) printf("sink: %s\n", err);
    free(url);
    free(dir);
    return s;
}

static int spool_entries(const char *spool_name)
{
    char *dir = spool_path(spool_name);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += strstr(de->d_name, ".json.gz") != NULL;
    if (d) closedir(d);
    free(dir);
    return n;
}

/* Does any file of the spool (rejected/ included), raw or decompressed, contain the key? */
static int dir_has_key(const char *dir);
static int spool_has_key(const char *spool_name)
{
    char *dir = spool_path(spool_name);
    buf rejected = {0};
    buf_printf(&rejected, "%s/rejected", dir);
    int found = dir_has_key(dir) || dir_has_key(rejected.data);
    buf_free(&rejected);
    free(dir);
    return found;
}

static int dir_has_key(const char *dir)
{
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.')) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        FILE *f = fopen(p, "rb");
        if (!f) continue;
        buf raw = {0}, plain = {0};
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&raw, chunk, n);
        fclose(f);
        char err[64];
        if (gzip_decompress(&plain, raw.data, raw.len, err, sizeof err) == 0 && memmem(plain.data, plain.len, API_KEY, strlen(API_KEY)))
            found = 1;
        if (raw.len && memmem(raw.data, raw.len, API_KEY, strlen(API_KEY))) found = 1;
        buf_free(&raw);
        buf_free(&plain);
    }
    if (d) closedir(d);
    return found;
}

/* The decompressed content of <spool>/rejected/<name>, or NULL when there is no such file. */
static char *rejected_file(const char *spool_name, const char *name)
{
    char *dir = spool_path(spool_name);
    char p[512];
    snprintf(p, sizeof p, "%s/rejected/%s", dir, name);
    free(dir);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    buf raw = {0}, plain = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&raw, chunk, n);
    fclose(f);
    char err[64];
    if (gzip_decompress(&plain, raw.data, raw.len, err, sizeof err) != 0) buf_puts(&plain, "(not gzip)");
    buf_free(&raw);
    return buf_steal(&plain);
}

static int rejected_count(const char *spool_name)
{
    char *dir = spool_path(spool_name);
    buf r = {0};
    buf_printf(&r, "%s/rejected", dir);
    DIR *d = opendir(r.data);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += strstr(de->d_name, ".json.gz") != NULL;
    if (d) closedir(d);
    buf_free(&r);
    free(dir);
    return n;
}

#define CHECK_NO_KEY(msg) CHECK(strstr((msg), API_KEY) == NULL && strstr((msg), "api_key=") == NULL, "key in message: %s", (msg))

/* ---- tests ---- */

static void test_urls(void)
{
    char err[512];
    const char *bad[] = { "ftp://host", "http://", "host:8080", "https://host/receiver?x=1", NULL };
    for (int i = 0; i < 5; i++) {
        char *dir = spool_path("urls");
        stackstate_options o = { .base_url = bad[i], .api_key = API_KEY, .spool_dir = dir };
        err[0] = 0;
        CHECK(stackstate_sink_new(&o, err, sizeof err) == NULL && err[0], "bad URL %s refused: %s", bad[i] ? bad[i] : "NULL", err);
        free(dir);
    }
    char *dir = spool_path("urls");
    stackstate_options o = { .base_url = "http://h", .api_key = "", .spool_dir = dir };
    CHECK(stackstate_sink_new(&o, err, sizeof err) == NULL && strstr(err, "API key"), "no key: %s", err);
    o.api_key = API_KEY;
    o.spool_dir = NULL;
    CHECK(stackstate_sink_new(&o, err, sizeof err) == NULL && strstr(err, "spool"), "no spool: %s", err);
    free(dir);

    /* Every accepted form reaches the intake, at the path the form implies. */
    const char *forms[][2] = {
        { "", "/stsAgent/intake" },
        { "/", "/stsAgent/intake" },
        { "/stsAgent", "/stsAgent/intake" },
        { "/receiver", "/receiver/stsAgent/intake" },
        { "/receiver/", "/receiver/stsAgent/intake" },
        { "/receiver/stsAgent/", "/receiver/stsAgent/intake" },
        { "/receiver/stsAgent/intake", "/receiver/stsAgent/intake" },
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        stackstate_sink *s = new_sink(forms[i][0], "urls", API_KEY, 0);
        payload_list l = {0};
        make_payloads(&l, "url", 1, 0);
        int rc = s ? stackstate_sink_send(s, &l, err, sizeof err) : -2;
        CHECK(rc == 0, "form \"%s\": rc %d %s", forms[i][0], rc, err);
        cJSON *got = new_payloads();
        cJSON *entry = cJSON_GetArrayItem(got, 0);
        CHECK(cJSON_GetArraySize(got) == 1, "one payload");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(entry, "path")), forms[i][1]);
        cJSON_Delete(got);
        payload_list_free(&l);
        stackstate_sink_free(s);
    }
}

static void test_in_order(void)
{
    char err[512] = "";
    stackstate_sink *s = new_sink("", "order", API_KEY, 0);
    if (!s) return;
    payload_list l = {0};
    make_payloads(&l, "c", 12, 50);
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 0, "send: %s", err);
    const sink_stats *st = stackstate_sink_stats(s);
    CHECK(st->delivered == 12 && st->spooled == 0 && st->retries == 0, "stats %zu %zu %zu", st->delivered, st->spooled, st->retries);
    CHECK(st->bytes_sent > 0, "bytes sent counted");
    cJSON *got = new_payloads();
    char *ids = received_ids(got);
    CHECK_STR(ids, "c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11");
    cJSON *e;
    int gz = 1;
    size_t wire = 0;
    cJSON_ArrayForEach(e, got) {
        gz &= strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "content_encoding")), "gzip") == 0;
        wire += (size_t)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "bytes"));
    }
    CHECK(gz, "sent gzip-compressed");
    CHECK(wire == st->bytes_sent, "bytes_sent %zu = bytes received %zu", st->bytes_sent, wire);
    cJSON *first = cJSON_GetObjectItem(cJSON_GetArrayItem(got, 0), "payload");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "internalHostname")), "test-host");
    CHECK(spool_entries("order") == 0, "spool empty");
    free(ids);
    cJSON_Delete(got);
    payload_list_free(&l);
    stackstate_sink_free(s);

    /* Plain JSON when asked. */
    char *url = base_url(""), *dir = spool_path("plain");
    stackstate_options o = { .base_url = url, .api_key = API_KEY, .spool_dir = dir, .no_gzip = 1, .retry_base_ms = 10 };
    s = stackstate_sink_new(&o, err, sizeof err);
    make_payloads(&l, "p", 2, 0);
    CHECK(s && stackstate_sink_send(s, &l, err, sizeof err) == 0, "plain send: %s", err);
    got = new_payloads();
    CHECK(cJSON_GetArraySize(got) == 2, "2 plain payloads");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(got, 0), "content_encoding")), "identity");
    cJSON_Delete(got);
    payload_list_free(&l);
    stackstate_sink_free(s);
    free(url);
    free(dir);
}

static void test_retries(void)
{
    char err[512] = "";
    stackstate_sink *s = new_sink("", "retry", API_KEY, 0);
    if (!s) return;
    payload_list l = {0};
    make_payloads(&l, "r", 2, 0);
    control("{\"status\": 500, \"count\": 2}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 0, "delivered after retries: %s", err);
    CHECK(stackstate_sink_stats(s)->retries == 2, "2 retries: %zu", stackstate_sink_stats(s)->retries);
    cJSON *got = new_payloads();
    char *ids = received_ids(got);
    CHECK_STR(ids, "r0,r1");
    free(ids);
    cJSON_Delete(got);

    /* 429 and 408 are retried too; a Retry-After is waited for. */
    control("{\"status\": 429, \"count\": 1, \"retry_after\": \"0.3\"}");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    payload_list_free(&l);
    make_payloads(&l, "t", 1, 0);
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 0, "429 retried: %s", err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double waited = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    CHECK(waited >= 0.29, "Retry-After honoured: waited %.3f s", waited);
    control("{\"retry_after\": null, \"status\": 408, \"count\": 1}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 0, "408 retried: %s", err);
    got = new_payloads();
    CHECK(cJSON_GetArraySize(got) == 2, "each delivered once");
    cJSON_Delete(got);

    /* Out of attempts: stops at the first payload, skips nothing. */
    payload_list_free(&l);
    make_payloads(&l, "s", 3, 0);
    control("{\"status\": 503, \"count\": 3}");
    err[0] = 0;
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 1, "gives up after 3 attempts");
    CHECK(strstr(err, "after 3 attempts (last: HTTP 503); 3 payload(s) stay spooled in") != NULL, "message: %s", err);
    CHECK_NO_KEY(err);
    got = new_payloads();
    CHECK(cJSON_GetArraySize(got) == 0, "nothing after the undelivered payload went");
    cJSON_Delete(got);
    CHECK(stackstate_sink_stats(s)->spooled == 3 && spool_entries("retry") == 3, "3 spooled");
    CHECK(stackstate_sink_send(s, NULL, err, sizeof err) == 0, "flush: %s", err);
    got = new_payloads();
    ids = received_ids(got);
    CHECK_STR(ids, "s0,s1,s2");
    free(ids);
    cJSON_Delete(got);
    payload_list_free(&l);
    stackstate_sink_free(s);
}

static void test_outage(void)
{
    char err[512] = "";
    stackstate_sink *s = new_sink("", "outage", API_KEY, 0);
    if (!s) return;
    payload_list l = {0};

    /* The receiver drops connections: payloads stay spooled. */
    control("{\"down\": true}");
    make_payloads(&l, "d", 3, 20);
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 1, "down: stays spooled (%s)", err);
    CHECK(strstr(err, "3 payload(s) stay spooled") != NULL, "message: %s", err);
    CHECK_NO_KEY(err);
    CHECK(spool_entries("outage") == 3 && stackstate_sink_stats(s)->spooled == 3, "3 in the spool");
    CHECK(!spool_has_key("outage"), "spool files do not contain the API key");
    payload_list_free(&l);
    make_payloads(&l, "e", 2, 20);
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 1, "still down");
    CHECK(spool_entries("outage") == 5, "5 in the spool");
    payload_list_free(&l);

    /* The receiver process is gone altogether (connection refused), then restarts. */
    int old_port = port;
    receiver_stop();
    make_payloads(&l, "f", 1, 0);
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 1, "receiver stopped: %s", err);
    CHECK_NO_KEY(err);
    payload_list_free(&l);
    stackstate_sink_free(s);   /* and awstopo restarts too */
    CHECK(!spool_has_key("outage"), "spool files do not contain the API key");
    CHECK(receiver_start(old_port) == 0 && port == old_port, "receiver back on its port");

    s = new_sink("", "outage", API_KEY, 0);
    CHECK(s && stackstate_sink_stats(s)->spooled == 6, "reopened spool holds 6");
    CHECK(s && stackstate_sink_send(s, NULL, err, sizeof err) == 0, "flush after the outage: %s", err);
    cJSON *got = new_payloads();
    char *ids = received_ids(got);
    CHECK_STR(ids, "d0,d1,d2,e0,e1,f0");
    free(ids);
    cJSON_Delete(got);
    CHECK(s && stackstate_sink_send(s, NULL, err, sizeof err) == 0, "second flush: nothing to do");
    got = new_payloads();
    CHECK(cJSON_GetArraySize(got) == 0, "delivered exactly once");
    cJSON_Delete(got);
    CHECK(spool_entries("outage") == 0, "spool drained");
    stackstate_sink_free(s);
}

static void test_refusals(void)
{
    char err[512] = "";
    stackstate_sink *s = new_sink("", "refuse", API_KEY, 0);
    if (!s) return;
    payload_list l = {0};
    make_payloads(&l, "k", 1, 0);
    char want[256];

    /* 401: the key is refused; the payload stays. */
    control("{\"status\": 401, \"count\": 1}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == -1, "401 is permanent");
    snprintf(want, sizeof want, "StackState rejected the API key (HTTP 401) at http://127.0.0.1:%d/stsAgent/intake", port);
    CHECK_STR(err, want);
    CHECK(spool_entries("refuse") == 1, "payload kept");
    CHECK(stackstate_sink_stats(s)->retries == 0, "not retried");
    CHECK(stackstate_sink_send(s, NULL, err, sizeof err) == 0, "delivered once the key is accepted: %s", err);
    cJSON_Delete(new_payloads());

    /* A wrong key: the real receiver answers 403. */
    stackstate_sink *bad = new_sink("/receiver", "refuse-bad", "wrong-key-0123456789", 0);
    CHECK(bad && stackstate_sink_send(bad, &l, err, sizeof err) == -1, "wrong key");
    snprintf(want, sizeof want, "StackState rejected the API key (HTTP 403) at http://127.0.0.1:%d/receiver/stsAgent/intake", port);
    CHECK_STR(err, want);
    CHECK(strstr(err, "wrong-key") == NULL, "no key in the message");
    stackstate_sink_free(bad);

    /* 404: the URL is wrong for every payload: stop, keep it spooled. */
    control("{\"status\": 404, \"count\": 1}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == -1, "404 is permanent");
    CHECK(strstr(err, "HTTP 404") && strstr(err, "injected status 404") && strstr(err, "stays spooled as"), "message: %s", err);
    CHECK(spool_entries("refuse") == 1 && rejected_count("refuse") == 0, "404: kept, not moved aside");
    CHECK(stackstate_sink_send(s, NULL, err, sizeof err) == 0, "then delivered: %s", err);
    cJSON_Delete(new_payloads());
    CHECK(!spool_has_key("refuse"), "no key on disk");
    payload_list_free(&l);
    stackstate_sink_free(s);
}


/* A snapshot of 30 components, 10 relations and 4 deletes in one payload. */
static void make_snapshot(payload_list *l)
{
    topology t;
    topology_init(&t);
    char id[32];
    for (int i = 0; i < 30; i++) {
        buf j = {0};
        snprintf(id, sizeof id, "c%02d", i);
        buf_printf(&j, "{\"externalId\":\"%s\",\"type\":{\"name\":\"aws.test\"},\"data\":{\"pad\":\"", id);
        for (int k = 0; k < 100; k++) buf_putc(&j, (char)('a' + (k * 31 + i) % 26));
        buf_puts(&j, "\"}}");
        topology_add(&t, TOPO_COMPONENT, id, j.data, j.len);
        buf_free(&j);
    }
    for (int i = 0; i < 10; i++) {
        buf j = {0};
        snprintf(id, sizeof id, "r%02d", i);
        buf_printf(&j, "{\"externalId\":\"%s\",\"type\":{\"name\":\"uses\"},\"sourceId\":\"c%02d\",\"targetId\":\"c%02d\",\"data\":{}}",
                   id, i, 29 - i);
        topology_add(&t, TOPO_RELATION, id, j.data, j.len);
        buf_free(&j);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "gone%d", i);
        topology_add(&t, TOPO_DELETE, id, NULL, 0);
    }
    intake_options o = { .hostname = "test-host", .instance_url = "acct", .collection_timestamp = 1700000000 };
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, l);
    topology_free(&t);
}

/* Every item of the received payloads, in order, as "kind:id" joined by ','. */
static char *received_items(cJSON *arr, size_t from, size_t to)
{
    buf b = {0};
    for (size_t i = from; i < to; i++) {
        cJSON *topo = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, (int)i), "payload"),
                                                             "topologies"), 0);
        cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(topo, "components"))
            buf_printf(&b, "%sc:%s", b.len ? "," : "", cJSON_GetStringValue(cJSON_GetObjectItem(it, "externalId")));
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(topo, "relations"))
            buf_printf(&b, "%sr:%s", b.len ? "," : "", cJSON_GetStringValue(cJSON_GetObjectItem(it, "externalId")));
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(topo, "delete_ids"))
            buf_printf(&b, "%sd:%s", b.len ? "," : "", cJSON_GetStringValue(it));
    }
    return buf_steal(&b);
}

static int received_flag(cJSON *arr, size_t i, const char *name)
{
    cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, (int)i), "payload");
    return cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "topologies"), 0), name));
}

/* 413: the payload is cut until the parts go; everything arrives once, in
 * order, as one snapshot; the payload after it follows. */
static void test_split_on_413(void)
{
    char err[512] = "";
    stackstate_sink *s = new_sink("", "split", API_KEY, 0);
    if (!s) return;
    payload_list l = {0};
    make_snapshot(&l);
    make_payloads(&l, "after", 1, 0);
    size_t whole = l.items[0].len;
    control("{\"max_bytes\": 1200}");
    CHECK(whole > 4 * 1200, "the snapshot payload (%zu bytes) is well over the limit", whole);
    int rc = stackstate_sink_send(s, &l, err, sizeof err);
    control("{\"max_bytes\": 0}");
    CHECK(rc == 0, "delivered by cutting: rc %d %s", rc, err);
    const sink_stats *st = stackstate_sink_stats(s);
    cJSON *got = new_payloads();
    size_t n = (size_t)cJSON_GetArraySize(got);
    CHECK(st->splits >= 7 && st->rejected == 0, "cut %zu times, nothing rejected (%zu)", st->splits, st->rejected);
    CHECK(n == st->splits + 2 && st->delivered == n, "parts + the next payload: %zu received, %zu splits, %zu delivered", n,
          st->splits, st->delivered);

    /* The snapshot's items, each once and in order, across the parts. */
    buf want = {0};
    for (int i = 0; i < 30; i++) buf_printf(&want, "%sc:c%02d", i ? "," : "", i);
    for (int i = 0; i < 10; i++) buf_printf(&want, ",r:r%02d", i);
    for (int i = 0; i < 4; i++) buf_printf(&want, ",d:gone%d", i);
    char *items = received_items(got, 0, n - 1);
    CHECK_STR(items, want.data);
    free(items);
    buf_free(&want);
    int flags_ok = 1, envelope_ok = 1;
    for (size_t i = 0; i + 1 < n; i++) {
        flags_ok &= received_flag(got, i, "start_snapshot") == (i == 0);
        flags_ok &= received_flag(got, i, "stop_snapshot") == (i == n - 2);
        cJSON *p = cJSON_GetObjectItem(cJSON_GetArrayItem(got, (int)i), "payload");
        cJSON *inst = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "topologies"), 0), "instance");
        envelope_ok &= strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "internalHostname")), "test-host") == 0 &&
                       cJSON_GetNumberValue(cJSON_GetObjectItem(p, "collection_timestamp")) == 1700000000 &&
                       strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(inst, "url")), "acct") == 0 &&
                       strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(inst, "type")), "aws") == 0;
    }
    CHECK(flags_ok, "start_snapshot on the first part only, stop_snapshot on the last only");
    CHECK(envelope_ok, "every part: same instance, internalHostname, collection_timestamp");
    items = received_items(got, n - 1, n);
    CHECK_STR(items, "c:after0");
    free(items);
    CHECK(!received_flag(got, n - 1, "start_snapshot") && !received_flag(got, n - 1, "stop_snapshot"), "next payload as it was");
    CHECK(spool_entries("split") == 0 && rejected_count("split") == 0, "spool empty, nothing moved aside");
    cJSON_Delete(got);
    payload_list_free(&l);

    /* The receiver fails half-way through the parts (after 8 requests, 3
     * attempts of 503): the payload stays spooled whole, and is cut and sent
     * again in full once the receiver is back (at least once: the parts that
     * went before arrive twice). */
    make_snapshot(&l);
    control("{\"max_bytes\": 1200}");
    control("{\"status\": 503, \"count\": 3, \"skip\": 8}");
    rc = stackstate_sink_send(s, &l, err, sizeof err);
    CHECK(rc == 1 && spool_entries("split") == 1, "gave up on a part: rc %d, the payload stays spooled (%s)", rc, err);
    got = new_payloads();
    n = (size_t)cJSON_GetArraySize(got);
    items = received_items(got, 0, n);
    CHECK(n >= 1 && strncmp(items, "c:c00,c:c01", 11) == 0 && !strstr(items, "d:gone3"),
          "some parts went before: %zu, %s", n, items);
    free(items);
    cJSON_Delete(got);
    CHECK(stackstate_sink_send(s, NULL, err, sizeof err) == 0, "flush: %s", err);
    got = new_payloads();
    n = (size_t)cJSON_GetArraySize(got);
    items = received_items(got, 0, n);
    buf_free(&want);
    for (int i = 0; i < 30; i++) buf_printf(&want, "%sc:c%02d", i ? "," : "", i);
    for (int i = 0; i < 10; i++) buf_printf(&want, ",r:r%02d", i);
    for (int i = 0; i < 4; i++) buf_printf(&want, ",d:gone%d", i);
    CHECK_STR(items, want.data);
    buf_free(&want);
    free(items);
    CHECK(received_flag(got, 0, "start_snapshot") && received_flag(got, n - 1, "stop_snapshot"), "flags");
    cJSON_Delete(got);
    control("{\"max_bytes\": 0}");
    CHECK(spool_entries("split") == 0, "spool empty");
    payload_list_free(&l);
    stackstate_sink_free(s);
}

/* Refused for good: moved aside to rejected/, and the next payload still goes. */
static void test_rejected(void)
{
    char err[600] = "", name[64];
    stackstate_sink *s = new_sink("", "rejected", API_KEY, 0);
    if (!s) return;
    payload_list l = {0};

    /* A single item too large: <seq>.json.gz, by rename. */
    make_payloads(&l, "a", 1, 0);
    make_payloads(&l, "huge", 1, 3000);
    make_payloads(&l, "b", 1, 0);
    control("{\"max_bytes\": 1000}");
    int rc = stackstate_sink_send(s, &l, err, sizeof err);
    control("{\"max_bytes\": 0}");
    CHECK(rc == -1, "a payload moved aside is an error: %d", rc);
    CHECK(strstr(err, "HTTP 413") && strstr(err, "too large even as a single item") &&
              strstr(err, "exceeds 1000") && strstr(err, "/rejected/00000000000000000002.json.gz") &&
              strstr(err, "delivery went on"), "message: %s", err);
    CHECK_NO_KEY(err);
    cJSON *got = new_payloads();
    char *ids = received_ids(got);
    CHECK_STR(ids, "a0,b0");
    free(ids);
    cJSON_Delete(got);
    char *text = rejected_file("rejected", "00000000000000000002.json.gz");
    CHECK(text && strstr(text, "\"externalId\":\"huge0\""), "the refused payload kept in rejected/");
    free(text);
    CHECK(spool_entries("rejected") == 0 && rejected_count("rejected") == 1, "spool empty, one file in rejected/");
    CHECK(stackstate_sink_stats(s)->rejected == 1 && stackstate_sink_stats(s)->spooled == 0, "stats");
    payload_list_free(&l);

    /* 400: the payload is moved aside, the next one delivered. */
    make_payloads(&l, "q", 2, 0);
    control("{\"status\": 400, \"count\": 1}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == -1, "400 is permanent");
    CHECK(strstr(err, "HTTP 400") && strstr(err, "injected status 400") &&
              strstr(err, "/rejected/00000000000000000004.json.gz"), "message: %s", err);
    CHECK_NO_KEY(err);
    got = new_payloads();
    ids = received_ids(got);
    CHECK_STR(ids, "q1");
    free(ids);
    cJSON_Delete(got);
    text = rejected_file("rejected", "00000000000000000004.json.gz");
    CHECK(text && strstr(text, "\"externalId\":\"q0\""), "q0 kept in rejected/");
    free(text);
    CHECK(spool_entries("rejected") == 0, "spool empty");
    CHECK(stackstate_sink_send(s, NULL, err, sizeof err) == 0 && err[0] == '\0', "nothing left to deliver: %s", err);
    payload_list_free(&l);

    /* A part of a cut payload refused: that part alone goes aside, named by
     * its item; the rest of the snapshot arrives; the entry leaves the spool. */
    topology t;
    topology_init(&t);
    const char *ids4[] = { "s0", "s1", "s2", "s3" };
    for (int i = 0; i < 4; i++) {
        buf j = {0};
        buf_printf(&j, "{\"externalId\":\"%s\",\"data\":{\"pad\":\"", ids4[i]);
        for (int k = 0; k < (i == 2 ? 3000 : 20); k++) buf_putc(&j, (char)('a' + (k * 7 + i) % 26));
        buf_puts(&j, "\"}}");
        topology_add(&t, TOPO_COMPONENT, ids4[i], j.data, j.len);
        buf_free(&j);
    }
    intake_options o = { .hostname = "test-host", .instance_url = "acct" };
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, &l);
    topology_free(&t);
    control("{\"max_bytes\": 1000}");
    rc = stackstate_sink_send(s, &l, err, sizeof err);
    control("{\"max_bytes\": 0}");
    snprintf(name, sizeof name, "00000000000000000006.item-2.json.gz");
    CHECK(rc == -1 && strstr(err, name) && strstr(err, "HTTP 413"), "part moved aside: %d %s", rc, err);
    got = new_payloads();
    ids = received_ids(got);
    CHECK_STR(ids, "s0,s1,s3");
    int n = cJSON_GetArraySize(got);
    CHECK(n == 2 && received_flag(got, 0, "start_snapshot") && !received_flag(got, 0, "stop_snapshot") &&
              !received_flag(got, 1, "start_snapshot") && received_flag(got, 1, "stop_snapshot"),
          "the parts that went carry the snapshot flags (%d payloads)", n);
    free(ids);
    cJSON_Delete(got);
    text = rejected_file("rejected", name);
    CHECK(text && strstr(text, "\"externalId\":\"s2\"") && !strstr(text, "\"s3\"") &&
              strstr(text, "\"start_snapshot\":false,\"stop_snapshot\":false"), "the refused part in rejected/: %.120s",
          text ? text : "(none)");
    free(text);
    CHECK(spool_entries("rejected") == 0 && rejected_count("rejected") == 3, "entry gone, 3 files in rejected/");
    CHECK(!spool_has_key("rejected"), "no key on disk");
    payload_list_free(&l);
    stackstate_sink_free(s);
}

static void test_spool_full_and_lock(void)
{
    char err[512] = "";
    stackstate_sink *s = new_sink("", "full", API_KEY, 600);
    if (!s) return;
    payload_list l = {0};
    make_payloads(&l, "x", 1, 200);
    control("{\"down\": true}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 1, "first spooled: %s", err);
    payload_list_free(&l);
    make_payloads(&l, "y", 2, 200);
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == -1, "spool full");
    CHECK(strstr(err, "is full (") && strstr(err, "payload not accepted") && strstr(err, "is the StackState receiver reachable?"),
          "message: %s", err);
    CHECK(spool_entries("full") == 1, "nothing of the refused batch spooled");
    control("{\"down\": false}");
    /* Room is made by delivering what waits. */
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 0, "fits once delivered: %s", err);
    cJSON *got = new_payloads();
    char *ids = received_ids(got);
    CHECK_STR(ids, "x0,y0,y1");
    free(ids);
    cJSON_Delete(got);
    payload_list_free(&l);

    /* Another process delivering the same spool: we only spool. */
    char *dir = spool_path("full");
    spool *other = spool_open(dir, 0, err, sizeof err);
    CHECK(other && spool_lock(other, 0, err, sizeof err) == 1, "other holds the lock");
    make_payloads(&l, "z", 1, 0);
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == 1, "lock busy: spooled only");
    CHECK(strstr(err, "another process is delivering spool") != NULL, "message: %s", err);
    got = new_payloads();
    CHECK(cJSON_GetArraySize(got) == 0, "not sent while the other delivers");
    cJSON_Delete(got);
    spool_close(other);
    CHECK(stackstate_sink_send(s, NULL, err, sizeof err) == 0, "flush when free");
    got = new_payloads();
    ids = received_ids(got);
    CHECK_STR(ids, "z0");
    free(ids);
    cJSON_Delete(got);
    payload_list_free(&l);
    free(dir);
    stackstate_sink_free(s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (access(RECEIVER, R_OK) != 0) {
        printf("FAIL %s not found (run from the repository root)\n", RECEIVER);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(out_file, sizeof out_file, "%s/received.jsonl", root);
    if (receiver_start(0) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_urls();
    test_in_order();
    test_retries();
    test_outage();
    test_refusals();
    test_split_on_413();
    test_rejected();
    test_spool_full_and_lock();
    receiver_stop();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) printf("could not remove %s\n", root);
    return test_summary();
}
