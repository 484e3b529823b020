/*
 * canned_endpoint.c -- a fast local HTTP/1.1 endpoint for the per-call
 * micro-benchmark (bench/bench_full_scan.py).
 *
 * The Python fake (tests/fake/fake_aws.py) checks every signature with
 * botocore and takes about half a millisecond of its own CPU per call, so a
 * client measured against it is idle between answers and pays a sleep and a
 * wake-up for nearly every call. To measure what a call costs the client
 * itself (sign, send, receive, parse), the benchmark also runs the same calls
 * against this endpoint, which answers at once: one thread, epoll, every
 * request answered with the same recorded response.
 *
 *   canned_endpoint BODY_FILE CONTENT_TYPE
 *
 * Listens on 127.0.0.1 (a free port, printed as "PORT n" on stdout), reads
 * requests with Content-Length bodies over keep-alive connections, and
 * answers each with status 200, CONTENT_TYPE and the bytes of BODY_FILE.
 * Two paths are its own: GET /__stats answers {"total": N} (requests
 * answered since the last reset) and POST /__reset sets N to 0. It runs
 * until it is killed. It checks nothing about the request: the Python fake
 * is the endpoint that checks signatures, this one only keeps pace.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REQUEST (64 * 1024)

/* One client connection: the bytes of requests not yet answered. */
typedef struct {
    int fd;
    size_t len;
    char in[MAX_REQUEST];
} conn;

static char *answer;            /* the whole HTTP response, headers and body */
static size_t answer_len;
static unsigned long answered;

static int die(const char *what)
{
    perror(what);
    exit(1);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *data = malloc((size_t)n + 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) die(path);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static void make_answer(const char *body_path, const char *content_type)
{
    size_t body_len;
    char *body = read_file(body_path, &body_len);
    answer = malloc(body_len + 512);
    if (!answer) die("malloc");
    int n = snprintf(answer, 512,
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n\r\n",
                     content_type, body_len);
    memcpy(answer + n, body, body_len);
    answer_len = (size_t)n + body_len;
    free(body);
}

/* Writes all of data; the answers are small, so a full socket buffer only
 * means waiting for the client to read. */
static int send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd w = {.fd = fd, .events = POLLOUT};
            poll(&w, 1, -1);
            continue;
        }
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The length of the first whole request in c->in, or 0 while it is partial. */
static size_t whole_request(const conn *c)
{
    const char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = (size_t)(end - c->in) + 4, body = 0;
    for (const char *p = c->in; p < end;) {
        if (strncasecmp(p, "content-length:", 15) == 0) body = strtoul(p + 15, NULL, 10);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        p = nl + 1;
    }
    if (body > MAX_REQUEST) return 0;   /* never whole: serve() closes the full connection */
    return head + body <= c->len ? head + body : 0;
}

static int answer_one(conn *c, size_t n)
{
    char text[64];
    if (strncmp(c->in, "GET /__stats ", 13) == 0) {
        int body = snprintf(text, sizeof text, "{\"total\": %lu}", answered);
        char head[128];
        int h = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: %d\r\n\r\n", body);
        if (send_all(c->fd, head, (size_t)h) || send_all(c->fd, text, (size_t)body)) return -1;
    } else if (strncmp(c->in, "POST /__reset ", 14) == 0) {
        answered = 0;
        if (send_all(c->fd, "HTTP/1.1 204 No Content\r\n\r\n", 27)) return -1;
    } else {
        answered++;
        if (send_all(c->fd, answer, answer_len)) return -1;
    }
    memmove(c->in, c->in + n, c->len - n);
    c->len -= n;
    return 0;
}

/* Reads what the connection has and answers each whole request in it.
 * -1: the connection is done (closed, reset, or a request too large). */
static int serve(conn *c)
{
    for (;;) {
        if (c->len == sizeof c->in) return -1;
        ssize_t n = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        if (n <= 0) return -1;
        c->len += (size_t)n;
        size_t whole;
        while ((whole = whole_request(c)) > 0)
            if (answer_one(c, whole)) return -1;
    }
}

static int listen_loopback(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&a, &alen))
        die("listen");
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: canned_endpoint BODY_FILE CONTENT_TYPE\n");
        return 64;
    }
    make_answer(argv[1], argv[2]);
    int lfd = listen_loopback(), ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) die("epoll");
    for (;;) {
        struct epoll_event got[64];
        int n = epoll_wait(ep, got, 64, -1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            conn *c = got[i].data.ptr;
            if (!c) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0) continue;
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                if (!c) die("calloc");
                c->fd = fd;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev)) die("epoll_ctl");
            } else if (serve(c)) {
                close(c->fd);
                free(c);
            }
        }
    }
}
