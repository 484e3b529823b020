/* test_http.c -- the HTTP engine against a tiny scripted HTTP/1.1 server, on
 * both transfer paths (our own client, and libcurl with AWSTOPO_HTTP=curl).
 *
 * The server is a forked child (forked before libcurl starts any thread): it
 * accepts on 127.0.0.1 (ephemeral port) and forks once more per connection,
 * which then serves requests, keep-alive included. Counters live in shared
 * memory. The request path picks the behaviour:
 *   /ok        200, body "hello", X-Test header
 *   /echo      200, body = the raw request (head and body) as received
 *   /stall     headers, then nothing (past the read timeout)
 *   /silent    nothing at all
 *   /truncate  Content-Length 100, 10 bytes, close
 *   /reset     close right after reading the request
 *   /slow      10 body bytes, 100 ms apart (each gap within the timeout)
 *   /hdrslow   header lines 150 ms apart
 *   /continue  "100 Continue" with its own header, then the real response
 *   /status/503  503 with Retry-After
 * A request line with an absolute URI or a CONNECT (as sent to a proxy) counts
 * as proxied; CONNECT is refused with 403.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "testlib.h"

/* ---- the server ---- */

/* Counters shared with the server processes. */
typedef struct counters {
    atomic_int conns;    /* connections accepted */
    atomic_int active;   /* connections still being served */
    atomic_int proxied;  /* requests with an absolute URI */
} counters;

static counters *sh;
static int port;
static pid_t server_pid;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Waits (at most 5 s) for the client to hang up. */
static void wait_for_close(int fd)
{
    char tmp[256];
    long long end = now_ms() + 5000;
    while (now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0 && recv(fd, tmp, sizeof tmp, 0) <= 0) return;
    }
}

static void respond(int fd, int head_only, const char *status_and_headers, const char *body, size_t len)
{
    buf r = {0};
    buf_printf(&r, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n\r\n", status_and_headers, len);
    if (!head_only) buf_append(&r, body, len);
    send_all(fd, r.data, r.len);
    buf_free(&r);
}

/* Serves one request; returns 1 to keep the connection, 0 to close it. */
static int serve(int fd, const char *method, const char *path, const char *raw, size_t rawlen)
{
    int head = !strcmp(method, "HEAD");
    if (!strcmp(path, "/ok")) {
        respond(fd, head, "200 OK\r\nX-Test: yes\r\nContent-Type: text/plain", "hello", 5);
    } else if (!strcmp(path, "/echo")) {
        respond(fd, head, "200 OK", raw, rawlen);
    } else if (!strcmp(path, "/stall")) {
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        wait_for_close(fd);
        return 0;
    } else if (!strcmp(path, "/silent")) {
        wait_for_close(fd);
        return 0;
    } else if (!strcmp(path, "/truncate")) {
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        return 0;
    } else if (!strcmp(path, "/reset")) {
        return 0;
    } else if (!strcmp(path, "/slow")) {
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        for (int i = 0; i < 10; i++) {
            msleep(100);
            send_all(fd, "0123456789" + i, 1);
        }
    } else if (!strcmp(path, "/hdrslow")) {
        send_str(fd, "HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 4; i++) {
            msleep(150);
            send_str(fd, "X-A: 1\r\n");
        }
        send_str(fd, "Content-Length: 2\r\n\r\nok");
    } else if (!strcmp(path, "/continue")) {
        send_str(fd, "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nX-Final: 1\r\nContent-Length: 2\r\n\r\nok");
    } else if (!strcmp(path, "/chunked")) {
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Test: c\r\n\r\n"
                     "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
    } else if (!strcmp(path, "/chunkcut")) {
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
        return 0;
    } else if (!strcmp(path, "/folded")) {   /* obsolete line folding */
        send_str(fd, "HTTP/1.1 200 OK\r\nX-Fold: a\r\n \t b  \r\nContent-Length: 2\r\n\r\nok");
    } else if (!strcmp(path, "/http10")) {
        send_str(fd, "HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nuntil close");
        return 0;
    } else if (!strcmp(path, "/close")) {
        send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye");
        return 0;
    } else if (!strcmp(path, "/okthenclose")) {   /* says keep-alive, then hangs up anyway */
        respond(fd, head, "200 OK", "first", 5);
        return 0;
    } else if (!strcmp(path, "/big")) {
        static char big[300000];
        memset(big, 'x', sizeof big);
        respond(fd, head, "200 OK", big, sizeof big);
    } else if (!strcmp(path, "/status/503")) {
        respond(fd, head, "503 Service Unavailable\r\nRetry-After: 1", "", 0);
    } else {
        respond(fd, head, "404 Not Found", "", 0);
    }
    return 1;
}

static size_t content_length(const char *head, size_t len)
{
    const char *p = head, *end = head + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break;
        if ((size_t)(eol - p) > 15 && !strncasecmp(p, "Content-Length:", 15)) return strtoul(p + 15, NULL, 10);
        p = eol + 1;
    }
    return 0;
}

static void conn_main(int fd)
{
    buf in = {0};
    buf_reserve(&in, 65536);
    for (;;) {
        char *end;
        while (!(end = memmem(in.data, in.len, "\r\n\r\n", 4))) {
            if (in.len && (unsigned char)in.data[0] == 0x16) { /* a TLS ClientHello */
                send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                goto done;
            }
            char tmp[65536];
            ssize_t n = recv(fd, tmp, sizeof tmp, 0);
            if (n <= 0) goto done;
            buf_append(&in, tmp, (size_t)n);
        }
        size_t head_len = (size_t)(end - in.data) + 4;
        size_t total = head_len + content_length(in.data, head_len);
        while (in.len < total) {
            char tmp[65536];
            ssize_t n = recv(fd, tmp, sizeof tmp, 0);
            if (n <= 0) goto done;
            buf_append(&in, tmp, (size_t)n);
        }
        char method[16] = "", target[512] = "";
        sscanf(in.data, "%15s %511s", method, target);
        if (!strcmp(method, "CONNECT")) { /* a proxy tunnel request: refused */
            sh->proxied++;
            send_str(fd, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            break;
        }
        char *path = target;
        if (!strncmp(path, "http://", 7)) {
            sh->proxied++;
            path = strchr(path + 7, '/');
            if (!path) path = "/";
        }
        char *q = strchr(path, '?');
        if (q) *q = '\0';
        int keep = serve(fd, method, path, in.data, total);
        memmove(in.data, in.data + total, in.len - total);
        in.len -= total;
        if (!keep) break;
    }
done:
    buf_free(&in);
    close(fd);
}

static void accept_main(int listen_fd)
{
    signal(SIGCHLD, SIG_IGN); /* no zombies */
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            _exit(0);
        }
        sh->conns++;
        sh->active++;
        pid_t c = fork();
        if (c == 0) {
            close(listen_fd);
            conn_main(fd);
            sh->active--;
            _exit(0);
        }
        if (c < 0) sh->active--;
        close(fd);
    }
}

static int bind_loopback(int *out_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &alen)) {
        perror("bind");
        exit(1);
    }
    *out_port = ntohs(a.sin_port);
    return fd;
}

static void server_start(void)
{
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    int fd = bind_loopback(&port);
    listen(fd, 128);
    server_pid = fork();
    if (server_pid < 0) {
        perror("fork");
        exit(1);
    }
    if (server_pid == 0) accept_main(fd);
    close(fd);
}

/* Stops accepting and waits (a little) for open connections to end. */
static void server_stop(void)
{
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    long long end = now_ms() + 6000;
    while (sh->active > 0 && now_ms() < end) msleep(10);
    munmap(sh, sizeof *sh);
}

/* A port nobody listens on. */
static int refused_port(void)
{
    int p, fd = bind_loopback(&p);
    close(fd);
    return p;
}

/* ---- client helpers ---- */

typedef struct result {
    int calls;
    http_error_kind kind;
    long status;
    char *body;
    size_t body_len;
    http_headers headers;
    char msg[512];
    int id;
} result;

static void on_done(void *ud, http_response *resp, http_error_kind kind, const char *message)
{
    result *r = ud;
    r->calls++;
    r->kind = kind;
    r->status = resp->status;
    free(r->body);
    r->body_len = resp->body.len;
    r->body = buf_steal(&resp->body); /* allowed by http.h */
    headers_free(&r->headers);
    for (size_t i = 0; i < resp->headers.len; i++)
        headers_add(&r->headers, resp->headers.items[i].name, resp->headers.items[i].value);
    snprintf(r->msg, sizeof r->msg, "%s", message ? message : "");
}

static void result_free(result *r)
{
    free(r->body);
    headers_free(&r->headers);
    memset(r, 0, sizeof *r);
}

static void make_req(http_request *req, const char *method, const char *scheme, int p, const char *path,
                     const char *query)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", p);
    request_init(req);
    request_set(&req->method, method);
    request_set(&req->scheme, scheme);
    request_set(&req->host, host);
    request_set(&req->path, path);
    request_set(&req->query, query ? query : "");
}

/* Polls with a long timeout, as an idle event loop would: the engine must
 * wake up by itself for read timeouts. */
static void wait_all(http_engine *e, int max_ms)
{
    long long end = now_ms() + max_ms;
    while (http_running(e) && now_ms() < end) http_poll(e, 2000);
}

/* Sends one request through engine e and waits for it; *ms gets the time. */
static void run(http_engine *e, const char *method, const char *path, const char *query, result *r,
                long long *ms)
{
    http_request req;
    make_req(&req, method, "http", port, path, query);
    long long t0 = now_ms();
    http_submit(e, &req, on_done, r);
    request_free(&req);
    wait_all(e, 10000);
    if (ms) *ms = now_ms() - t0;
}

static const char *SECRET_QUERY = "X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=topsecret";

/* ---- tests ---- */

static void test_ok(void)
{
    http_engine *e = http_engine_new(NULL);
    result r = {0};
    run(e, "GET", "/ok", "a=1", &r, NULL);
    CHECK(r.calls == 1, "callback once, got %d", r.calls);
    CHECK(r.kind == HTTP_OK, "kind %s: %s", http_error_name(r.kind), r.msg);
    CHECK(r.status == 200, "status %ld", r.status);
    CHECK_STR(r.body, "hello");
    CHECK_STR(headers_get(&r.headers, "x-test"), "yes");
    CHECK_STR(headers_get(&r.headers, "Content-Type"), "text/plain");
    result_free(&r);

    run(e, "GET", "/status/503", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 503, "503 is a response: %s %ld", http_error_name(r.kind), r.status);
    CHECK_STR(headers_get(&r.headers, "Retry-After"), "1");
    result_free(&r);

    run(e, "HEAD", "/ok", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 200 && r.body_len == 0, "HEAD: %s %ld %zu", http_error_name(r.kind),
          r.status, r.body_len);
    CHECK_STR(headers_get(&r.headers, "X-Test"), "yes");
    result_free(&r);

    run(e, "GET", "/continue", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 200, "after 100: %s %ld", http_error_name(r.kind), r.status);
    CHECK_STR(headers_get(&r.headers, "X-Final"), "1");
    CHECK(headers_get(&r.headers, "X-Interim") == NULL, "interim response's headers dropped");
    CHECK_STR(r.body, "ok");
    result_free(&r);

    long long t0 = now_ms();
    CHECK(http_poll(e, 50) == 0, "nothing running");
    CHECK(now_ms() - t0 >= 40, "idle poll sleeps its timeout (%lld ms)", now_ms() - t0);
    http_engine_free(e);
}

/* Splits the echoed request into its head lines; returns the body. */
static const char *echo_split(const result *r, char lines[][256], int *n)
{
    *n = 0;
    if (!r->body) return NULL;
    const char *end = memmem(r->body, r->body_len, "\r\n\r\n", 4);
    if (!end) return NULL;
    for (const char *p = r->body; p < end && *n < 32;) {
        const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        snprintf(lines[(*n)++], 256, "%.*s", (int)(eol - p), p);
        p = eol + 2;
    }
    return end + 4;
}

static int has_line(char lines[][256], int n, const char *want)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(lines[i], want)) return 1;
    return 0;
}

static int has_name(char lines[][256], int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 1; i < n; i++)
        if (!strncasecmp(lines[i], name, len) && lines[i][len] == ':') return 1;
    return 0;
}

static void test_exact_request(void)
{
    http_engine *e = http_engine_new(NULL);
    char lines[32][256], want[256];
    int n;
    result r = {0};
    http_request req;

    make_req(&req, "POST", "http", port, "/echo", "Action=Describe&Version=1");
    headers_add(&req.headers, "X-Amz-Date", "20240101T000000Z");
    headers_add(&req.headers, "X-Custom", "a  b");
    headers_add(&req.headers, "X-Empty", "");
    buf_puts(&req.body, "a=b&c");
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 5000);
    const char *body = echo_split(&r, lines, &n);
    CHECK(r.kind == HTTP_OK, "echo: %s", r.msg);
    CHECK_STR(lines[0], "POST /echo?Action=Describe&Version=1 HTTP/1.1");
    snprintf(want, sizeof want, "Host: 127.0.0.1:%d", port);
    CHECK(has_line(lines, n, want), "Host as given");
    CHECK(has_line(lines, n, "X-Amz-Date: 20240101T000000Z"), "X-Amz-Date");
    CHECK(has_line(lines, n, "X-Custom: a  b"), "value kept byte for byte");
    CHECK(has_line(lines, n, "X-Empty:"), "empty header sent");
    CHECK(has_line(lines, n, "Content-Length: 5"), "Content-Length");
    CHECK(n == 6, "exactly 5 headers, got %d", n - 1);
    CHECK(!has_name(lines, n, "Expect") && !has_name(lines, n, "Accept") && !has_name(lines, n, "Content-Type") &&
              !has_name(lines, n, "User-Agent"),
          "no headers of libcurl's own");
    CHECK(body && !strcmp(body, "a=b&c"), "body as given");
    result_free(&r);

    /* binary PUT with its own Content-Type and Accept */
    static const char bin[] = {'\0', 1, 2, 'a', 'b', 'c', '\0'};
    make_req(&req, "PUT", "http", port, "/echo", NULL);
    headers_add(&req.headers, "Content-Type", "application/octet-stream");
    headers_add(&req.headers, "Accept", "application/json");
    buf_append(&req.body, bin, sizeof bin);
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 5000);
    body = echo_split(&r, lines, &n);
    CHECK_STR(lines[0], "PUT /echo HTTP/1.1");
    CHECK(has_line(lines, n, "Content-Type: application/octet-stream"), "own Content-Type");
    CHECK(has_line(lines, n, "Accept: application/json"), "own Accept");
    CHECK(has_line(lines, n, "Content-Length: 7"), "binary length");
    CHECK(n == 5, "Host, Content-Type, Accept, Content-Length: got %d", n - 1);
    CHECK(body && r.body + r.body_len - body == 7 && !memcmp(body, bin, 7), "binary body intact");
    result_free(&r);

    /* GET and DELETE carry no body; an empty PUT says Content-Length: 0 */
    const char *methods[] = {"GET", "DELETE", "PUT"};
    for (int i = 0; i < 3; i++) {
        run(e, methods[i], "/echo", NULL, &r, NULL);
        echo_split(&r, lines, &n);
        snprintf(want, sizeof want, "%s /echo HTTP/1.1", methods[i]);
        CHECK_STR(lines[0], want);
        if (i < 2) {
            CHECK(n == 2, "%s: only Host, got %d headers", methods[i], n - 1);
        } else {
            CHECK(has_line(lines, n, "Content-Length: 0") && n == 3, "empty PUT: Content-Length: 0");
        }
        result_free(&r);
    }

    /* a 2 MB body: libcurl would add Expect: 100-continue above 1 MB */
    make_req(&req, "POST", "http", port, "/echo", NULL);
    headers_add(&req.headers, "Content-Type", "application/x-amz-json-1.1");
    for (int i = 0; i < 2 * 1024 * 1024 / 16; i++) buf_append(&req.body, "0123456789abcdef", 16);
    http_submit(e, &req, on_done, &r);
    wait_all(e, 10000);
    body = echo_split(&r, lines, &n);
    CHECK(r.kind == HTTP_OK, "big body: %s", r.msg);
    CHECK(!has_name(lines, n, "Expect"), "no Expect on a big body");
    CHECK(has_line(lines, n, "Content-Length: 2097152"), "big Content-Length");
    CHECK(body && (size_t)(r.body + r.body_len - body) == req.body.len && !memcmp(body, req.body.data, req.body.len),
          "big body intact");
    request_free(&req);
    result_free(&r);

    /* a Host header of the request's own wins */
    make_req(&req, "GET", "http", port, "/echo", NULL);
    headers_add(&req.headers, "host", "example.amazonaws.com");
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 5000);
    echo_split(&r, lines, &n);
    /* libcurl writes the name as "Host" whatever its case: names are case-insensitive */
    CHECK(has_line(lines, n, "Host: example.amazonaws.com") && n == 2, "own Host header only: %s (%d)", lines[1], n);
    result_free(&r);
    http_engine_free(e);
}

static void test_keepalive(void)
{
    http_options o = {0};
    o.read_timeout_ms = 300;
    http_engine *e = http_engine_new(&o);
    int before = sh->conns;
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        result r = {0};
        run(e, "GET", "/ok", NULL, &r, NULL);
        ok += r.kind == HTTP_OK && r.status == 200;
        result_free(&r);
    }
    CHECK(ok == 10, "10 sequential requests, %d ok", ok);
    CHECK(sh->conns - before == 1, "one connection reused, %d opened", sh->conns - before);

    /* the read timeout also runs on a reused connection */
    result r = {0};
    long long ms;
    run(e, "GET", "/stall", NULL, &r, &ms);
    CHECK(r.kind == HTTP_ERR_TIMEOUT && ms < 1500, "stall on a reused connection: %s after %lld ms",
          http_error_name(r.kind), ms);
    CHECK(sh->conns - before == 1, "still one connection, %d", sh->conns - before);
    result_free(&r);
    http_engine_free(e);
}

static void test_concurrent(int max_connections)
{
    http_options o = {0};
    o.max_connections = max_connections;
    http_engine *e = http_engine_new(&o);
    enum { N = 50 };
    result rs[N];
    memset(rs, 0, sizeof rs);
    int before = sh->conns;
    for (int i = 0; i < N; i++) {
        http_request req;
        make_req(&req, "POST", "http", port, "/echo", NULL);
        buf_printf(&req.body, "body-%d", i);
        rs[i].id = i;
        http_submit(e, &req, on_done, &rs[i]);
        request_free(&req);
    }
    CHECK(http_running(e) == N, "%d running", http_running(e));
    wait_all(e, 15000);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        char want[32];
        int len = snprintf(want, sizeof want, "body-%d", i);
        ok += rs[i].calls == 1 && rs[i].kind == HTTP_OK && rs[i].body_len > (size_t)len &&
              !memcmp(rs[i].body + rs[i].body_len - len, want, (size_t)len) &&
              rs[i].body[rs[i].body_len - len - 1] == '\n';
        result_free(&rs[i]);
    }
    CHECK(ok == N, "%d of %d concurrent transfers right", ok, N);
    CHECK(http_running(e) == 0, "none left");
    if (max_connections) CHECK(sh->conns - before <= max_connections, "%d connections for a limit of %d",
                               sh->conns - before, max_connections);
    http_engine_free(e);
}

static void check_message(const result *r, const char *path)
{
    char want[128];
    snprintf(want, sizeof want, "GET http://127.0.0.1:%d%s: ", port, path);
    CHECK(strstr(r->msg, want) != NULL, "message names the request: \"%s\"", r->msg);
    CHECK(strstr(r->msg, "topsecret") == NULL && strstr(r->msg, "AKIDEXAMPLE") == NULL &&
              strchr(r->msg, '?') == NULL,
          "message without the query: \"%s\"", r->msg);
}

static void test_errors(void)
{
    setenv("AWS_CLI_READ_TIMEOUT", "0.3", 1);
    http_engine *e = http_engine_new(NULL);
    result r = {0};
    long long ms;

    run(e, "GET", "/stall", SECRET_QUERY, &r, &ms);
    CHECK(r.calls == 1 && r.kind == HTTP_ERR_TIMEOUT, "stall: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK(ms >= 250 && ms < 1500, "stall detected after %lld ms (read timeout 300)", ms);
    CHECK(strstr(r.msg, "read timeout") != NULL, "says read timeout: %s", r.msg);
    check_message(&r, "/stall");
    result_free(&r);

    run(e, "GET", "/silent", SECRET_QUERY, &r, &ms);
    CHECK(r.kind == HTTP_ERR_TIMEOUT, "silent: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK(ms >= 250 && ms < 1500, "silence detected after %lld ms", ms);
    result_free(&r);

    run(e, "GET", "/slow", NULL, &r, &ms);
    CHECK(r.kind == HTTP_OK, "slow but steady: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK_STR(r.body, "0123456789");
    CHECK(ms >= 900, "slow took %lld ms: longer than the read timeout, not cut", ms);
    result_free(&r);

    run(e, "GET", "/hdrslow", NULL, &r, &ms);
    CHECK(r.kind == HTTP_OK && r.status == 200, "slow headers: %s (%s)", http_error_name(r.kind), r.msg);
    int xa = 0;
    for (size_t i = 0; i < r.headers.len; i++) xa += !strcmp(r.headers.items[i].name, "X-A");
    CHECK(xa == 4 && ms >= 550, "4 slow header lines (%d), %lld ms", xa, ms);
    result_free(&r);

    run(e, "GET", "/truncate", SECRET_QUERY, &r, NULL);
    CHECK(r.kind == HTTP_ERR_TRUNCATED, "truncate: %s (%s)", http_error_name(r.kind), r.msg);
    check_message(&r, "/truncate");
    result_free(&r);

    run(e, "GET", "/reset", SECRET_QUERY, &r, NULL);
    CHECK(r.kind == HTTP_ERR_RESET, "reset: %s (%s)", http_error_name(r.kind), r.msg);
    check_message(&r, "/reset");
    result_free(&r);

    /* the engine still works after all that */
    run(e, "GET", "/ok", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 200, "ok after errors: %s", r.msg);
    result_free(&r);

    http_request req;
    int dead = refused_port();
    make_req(&req, "GET", "http", dead, "/nothing", SECRET_QUERY);
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 5000);
    CHECK(r.kind == HTTP_ERR_CONNECT, "refused: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK(r.status == 0, "no status");
    char want[128];
    snprintf(want, sizeof want, "GET http://127.0.0.1:%d/nothing: ", dead);
    CHECK(strstr(r.msg, want) != NULL, "refused message: %s", r.msg);
    CHECK(!strstr(r.msg, "topsecret") && !strchr(r.msg, '?'), "no query in: %s", r.msg);
    result_free(&r);

    make_req(&req, "GET", "http", port, "/ok", NULL);
    request_set(&req.host, "no-such-host.invalid");
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 10000);
    CHECK(r.kind == HTTP_ERR_CONNECT, "unresolvable: %s (%s)", http_error_name(r.kind), r.msg);
    result_free(&r);

    /* https to a plain HTTP server: the handshake fails */
    make_req(&req, "GET", "https", port, "/ok", SECRET_QUERY);
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 5000);
    CHECK(r.kind == HTTP_ERR_TLS, "tls: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK(!strstr(r.msg, "topsecret"), "no query in: %s", r.msg);
    result_free(&r);
    http_engine_free(e);

    /* AWS_CA_BUNDLE is used: a missing file fails TLS */
    setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
    e = http_engine_new(NULL);
    make_req(&req, "GET", "https", port, "/ok", NULL);
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 5000);
    CHECK(r.kind == HTTP_ERR_TLS, "bad CA bundle: %s (%s)", http_error_name(r.kind), r.msg);
    result_free(&r);
    http_engine_free(e);
    unsetenv("AWS_CA_BUNDLE");

    /* options beat the environment; fractional seconds parse */
    setenv("AWS_CLI_READ_TIMEOUT", "30", 1);
    http_options o = {0};
    o.read_timeout_ms = 200;
    e = http_engine_new(&o);
    run(e, "GET", "/stall", NULL, &r, &ms);
    CHECK(r.kind == HTTP_ERR_TIMEOUT && ms >= 150 && ms < 1500, "option 200 ms: %s after %lld ms",
          http_error_name(r.kind), ms);
    result_free(&r);
    http_engine_free(e);

    setenv("AWS_CLI_READ_TIMEOUT", "0.5", 1);
    e = http_engine_new(NULL);
    run(e, "GET", "/stall", NULL, &r, &ms);
    CHECK(r.kind == HTTP_ERR_TIMEOUT && ms >= 450 && ms < 1800, "env 0.5 s: %s after %lld ms",
          http_error_name(r.kind), ms);
    result_free(&r);
    http_engine_free(e);
    unsetenv("AWS_CLI_READ_TIMEOUT");
}

static void test_blocking(void)
{
    http_request req;
    http_response resp;
    char err[256] = "x";
    make_req(&req, "GET", "http", port, "/ok", NULL);
    http_error_kind k = http_send_blocking(&req, &resp, 2000, err, sizeof err);
    CHECK(k == HTTP_OK && resp.status == 200, "blocking ok: %s %s", http_error_name(k), err);
    CHECK_STR(buf_cstr(&resp.body), "hello");
    CHECK_STR(headers_get(&resp.headers, "X-Test"), "yes");
    CHECK_STR(err, "");
    response_free(&resp);
    request_free(&req);

    make_req(&req, "GET", "http", port, "/stall", SECRET_QUERY);
    long long t0 = now_ms();
    k = http_send_blocking(&req, &resp, 300, err, sizeof err);
    CHECK(k == HTTP_ERR_TIMEOUT, "blocking stall: %s", http_error_name(k));
    CHECK(now_ms() - t0 < 2000, "blocking stall gave up after %lld ms", now_ms() - t0);
    CHECK(strstr(err, "/stall") && !strstr(err, "topsecret"), "blocking err: %s", err);
    response_free(&resp);
    request_free(&req);

    make_req(&req, "GET", "http", refused_port(), "/", NULL);
    k = http_send_blocking(&req, &resp, 1000, err, sizeof err);
    CHECK(k == HTTP_ERR_CONNECT, "blocking refused: %s (%s)", http_error_name(k), err);
    response_free(&resp);
    request_free(&req);
}

static int chain_left, chain_ok;
static void on_chain(void *ud, http_response *resp, http_error_kind kind, const char *message)
{
    (void)message;
    http_engine *e = ud;
    chain_ok += kind == HTTP_OK && resp->status == 200;
    if (--chain_left > 0) {
        http_request req;
        make_req(&req, "GET", "http", port, "/ok", NULL);
        http_submit(e, &req, on_chain, e);
        request_free(&req);
    }
}

static int aborted_calls;
static void on_never(void *ud, http_response *resp, http_error_kind kind, const char *message)
{
    (void)ud, (void)resp, (void)kind, (void)message;
    aborted_calls++;
}

static void test_lifecycle(void)
{
    /* submitting from inside a callback */
    http_engine *e = http_engine_new(NULL);
    http_request req;
    chain_left = 5;
    chain_ok = 0;
    make_req(&req, "GET", "http", port, "/ok", NULL);
    http_submit(e, &req, on_chain, e);
    request_free(&req);
    wait_all(e, 5000);
    CHECK(chain_ok == 5 && chain_left == 0, "chained submits: %d ok", chain_ok);
    http_engine_free(e);

    /* freeing the engine aborts running transfers without callbacks */
    e = http_engine_new(NULL);
    for (int i = 0; i < 3; i++) {
        make_req(&req, "GET", "http", port, "/stall", NULL);
        http_submit(e, &req, on_never, NULL);
        request_free(&req);
    }
    for (int i = 0; i < 3; i++) http_poll(e, 30);
    CHECK(http_running(e) == 3, "3 stalled transfers running, %d", http_running(e));
    http_engine_free(e);
    CHECK(aborted_calls == 0, "no callbacks from http_engine_free, got %d", aborted_calls);
    http_engine_free(NULL);

    CHECK_STR(http_error_name(HTTP_OK), "ok");
    CHECK_STR(http_error_name(HTTP_ERR_CONNECT), "connect");
    CHECK_STR(http_error_name(HTTP_ERR_TIMEOUT), "timeout");
    CHECK_STR(http_error_name(HTTP_ERR_RESET), "reset");
    CHECK_STR(http_error_name(HTTP_ERR_TRUNCATED), "truncated");
    CHECK_STR(http_error_name(HTTP_ERR_TLS), "tls");
    CHECK_STR(http_error_name(HTTP_ERR_OTHER), "other");
}

static void proxied_get(const char *host, int p, result *r)
{
    http_engine *e = http_engine_new(NULL);
    http_request req;
    make_req(&req, "GET", "http", p, "/ok", NULL);
    if (host) request_set(&req.host, host);
    http_submit(e, &req, on_done, r);
    request_free(&req);
    wait_all(e, 5000);
    http_engine_free(e);
}

static void test_proxy(void)
{
    char url[64], dead[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", refused_port());
    result r = {0};

    setenv("http_proxy", url, 1);
    int before = sh->proxied;
    proxied_get("proxied.invalid", 0, &r);
    CHECK(r.kind == HTTP_OK && r.status == 200 && sh->proxied == before + 1, "http_proxy used: %s, %d proxied",
          r.msg, sh->proxied - before);
    result_free(&r);
    unsetenv("http_proxy");

    setenv("HTTP_PROXY", url, 1);
    proxied_get("proxied.invalid", 0, &r);
    CHECK(r.kind == HTTP_OK && sh->proxied == before + 2, "HTTP_PROXY used: %s", r.msg);
    result_free(&r);
    unsetenv("HTTP_PROXY");

    /* https goes through HTTPS_PROXY with a CONNECT tunnel */
    setenv("HTTPS_PROXY", url, 1);
    http_engine *e = http_engine_new(NULL);
    http_request req;
    make_req(&req, "GET", "https", 443, "/ok", NULL);
    request_set(&req.host, "proxied.invalid");
    http_submit(e, &req, on_done, &r);
    request_free(&req);
    wait_all(e, 5000);
    http_engine_free(e);
    CHECK(sh->proxied == before + 3 && r.kind != HTTP_OK, "HTTPS_PROXY tunnel tried: %s (%s)",
          http_error_name(r.kind), r.msg);
    result_free(&r);
    unsetenv("HTTPS_PROXY");

    setenv("http_proxy", dead, 1);
    proxied_get(NULL, port, &r);
    CHECK(r.kind == HTTP_ERR_CONNECT, "dead proxy: %s (%s)", http_error_name(r.kind), r.msg);
    result_free(&r);
    setenv("NO_PROXY", "127.0.0.1", 1);
    proxied_get(NULL, port, &r);
    CHECK(r.kind == HTTP_OK && sh->proxied == before + 3, "NO_PROXY bypasses the proxy: %s", r.msg);
    result_free(&r);
    unsetenv("NO_PROXY");
    unsetenv("http_proxy");
}

/* Response framings besides Content-Length, limits, and a kept-alive
 * connection the server closed behind our back. */
static void test_framing(void)
{
    http_engine *e = http_engine_new(NULL);
    result r = {0};
    run(e, "GET", "/chunked", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 200, "chunked: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK_STR(r.body, "hello, world");
    CHECK_STR(headers_get(&r.headers, "X-Test"), "c");
    result_free(&r);

    run(e, "GET", "/folded", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 200, "folded header: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK_STR(headers_get(&r.headers, "X-Fold"), "a b");
    CHECK_STR(r.body, "ok");
    result_free(&r);

    run(e, "GET", "/chunkcut", NULL, &r, NULL);
    CHECK(r.kind == HTTP_ERR_TRUNCATED, "chunked body cut: %s (%s)", http_error_name(r.kind), r.msg);
    result_free(&r);

    run(e, "GET", "/http10", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 200, "HTTP/1.0 until close: %s (%s)", http_error_name(r.kind), r.msg);
    CHECK_STR(r.body, "until close");
    CHECK_STR(headers_get(&r.headers, "X-Old"), "1");
    result_free(&r);

    int before = sh->conns;
    run(e, "GET", "/close", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.body && !strcmp(r.body, "bye"), "Connection: close: %s", r.msg);
    result_free(&r);
    run(e, "GET", "/ok", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && sh->conns - before == 2, "a new connection after Connection: close (%d)",
          sh->conns - before);
    result_free(&r);

    /* the server hung up after "first": the next request on that connection
     * gets nothing back and goes once more on a fresh connection */
    before = sh->conns;
    run(e, "GET", "/okthenclose", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.body && !strcmp(r.body, "first"), "ok then close: %s", r.msg);
    result_free(&r);
    msleep(50);
    run(e, "GET", "/ok", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK && r.status == 200 && r.body && !strcmp(r.body, "hello"),
          "request after the server hung up: %s (%s)", http_error_name(r.kind), r.msg);
    /* (/okthenclose went on the connection /ok had left open) */
    CHECK(sh->conns - before == 1, "on a fresh connection (%d opened)", sh->conns - before);
    result_free(&r);
    http_engine_free(e);

    http_options o = {0};
    o.max_body_bytes = 100000;
    e = http_engine_new(&o);
    run(e, "GET", "/big", SECRET_QUERY, &r, NULL);
    CHECK(r.kind == HTTP_ERR_TOO_LARGE, "body past max_body_bytes: %s (%s)", http_error_name(r.kind), r.msg);
    check_message(&r, "/big");
    result_free(&r);
    run(e, "GET", "/ok", NULL, &r, NULL);
    CHECK(r.kind == HTTP_OK, "ok after a too large body: %s", r.msg);
    result_free(&r);
    http_engine_free(e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const char *proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"};
    for (size_t i = 0; i < sizeof proxy_vars / sizeof *proxy_vars; i++) unsetenv(proxy_vars[i]);
    unsetenv("AWS_CLI_READ_TIMEOUT");
    unsetenv("AWS_CA_BUNDLE");
    server_start();

    /* every test on both transfer paths: awstopo's own client, then libcurl */
    for (int curl = 0; curl < 2; curl++) {
        if (curl) setenv("AWSTOPO_HTTP", "curl", 1);
        else unsetenv("AWSTOPO_HTTP");
        printf("-- %s\n", curl ? "AWSTOPO_HTTP=curl" : "own HTTP/1.1 client");
        test_ok();
        test_exact_request();
        test_keepalive();
        test_concurrent(0);
        test_concurrent(4);
        test_framing();
        test_errors();
        test_blocking();
        test_lifecycle();
        test_proxy();
    }
    unsetenv("AWSTOPO_HTTP");

    server_stop();
    return test_summary();
}
