/* test_sink_stackstate.c -- the StackState sink against the recording receiver.
 *
 * Starts tests/fake/fake_receiver.py (from the repository root, where
 * tests/run runs us) and drives it through its /__control endpoint: failures,
 * outages, a wrong key, a body limit. Checks that payloads arrive complete, in
 * order and exactly once, that undeliverable ones stay in the spool, and that
 * the API key shows up in no message and no spool file.
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

/* Does any file of the spool, raw or decompressed, contain the key? */
static int spool_has_key(const char *spool_name)
{
    char *dir = spool_path(spool_name);
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
    free(dir);
    return found;
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
    CHECK(stackstate_sink_flush(s, err, sizeof err) == 0, "flush: %s", err);
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
    CHECK(s && stackstate_sink_flush(s, err, sizeof err) == 0, "flush after the outage: %s", err);
    cJSON *got = new_payloads();
    char *ids = received_ids(got);
    CHECK_STR(ids, "d0,d1,d2,e0,e1,f0");
    free(ids);
    cJSON_Delete(got);
    CHECK(s && stackstate_sink_flush(s, err, sizeof err) == 0, "second flush: nothing to do");
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
    CHECK(stackstate_sink_flush(s, err, sizeof err) == 0, "delivered once the key is accepted: %s", err);
    cJSON_Delete(new_payloads());

    /* A wrong key: the real receiver answers 403. */
    stackstate_sink *bad = new_sink("/receiver", "refuse-bad", "wrong-key-0123456789", 0);
    CHECK(bad && stackstate_sink_send(bad, &l, err, sizeof err) == -1, "wrong key");
    snprintf(want, sizeof want, "StackState rejected the API key (HTTP 403) at http://127.0.0.1:%d/receiver/stsAgent/intake", port);
    CHECK_STR(err, want);
    CHECK(strstr(err, "wrong-key") == NULL, "no key in the message");
    stackstate_sink_free(bad);

    /* 413: too large; stays spooled. */
    payload_list_free(&l);
    make_payloads(&l, "big", 1, 3000);
    control("{\"max_body\": 200}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == -1, "413 is permanent");
    CHECK(strncmp(err, "payload too large (", 19) == 0 && strstr(err, "lower max payload size"), "message: %s", err);
    CHECK(strstr(err, "stays spooled as") != NULL, "says where it is: %s", err);
    CHECK_NO_KEY(err);
    CHECK(spool_entries("refuse") == 1, "too-large payload kept");
    control("{\"max_body\": 0}");
    CHECK(stackstate_sink_flush(s, err, sizeof err) == 0, "delivered once allowed: %s", err);
    cJSON *got = new_payloads();
    char *ids = received_ids(got);
    CHECK_STR(ids, "big0");
    free(ids);
    cJSON_Delete(got);

    /* Another 4xx: status and the start of the body. */
    control("{\"status\": 400, \"count\": 1}");
    CHECK(stackstate_sink_send(s, &l, err, sizeof err) == -1, "400 is permanent");
    CHECK(strstr(err, "HTTP 400") && strstr(err, "injected status 400"), "message: %s", err);
    CHECK_NO_KEY(err);
    CHECK(stackstate_sink_flush(s, err, sizeof err) == 0, "then delivered");
    cJSON_Delete(new_payloads());
    CHECK(!spool_has_key("refuse"), "no key on disk");
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
    CHECK(stackstate_sink_flush(s, err, sizeof err) == 0, "flush when free");
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
    test_spool_full_and_lock();
    receiver_stop();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) printf("could not remove %s\n", root);
    return test_summary();
}
