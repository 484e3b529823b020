/* cmd_lambda.c -- `awstopo lambda`: the AWS Lambda custom runtime
 * (provided.al2023) of the StackPack's three functions (docs/lambda.md).
 *
 * _HANDLER picks the function: cron (the scan), cwevents (events ->
 * topology update -> Kinesis or StackState) or publisher (a Kinesis batch ->
 * StackState, with batchItemFailures). One process serves many invocations:
 * it asks the Runtime API for the next event, runs the handler in a forked
 * child (a clean heap every time, and a child that can be stopped), and
 * reports the child's result -- or, when the invocation's deadline comes
 * near, stops the child and reports that, before Lambda kills everything.
 * The task root is read-only and there is no HOME: spool and scratch files
 * go under /tmp/awstopo.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "intake.h"
#include "lambda.h"
#include "util.h"

#define RUNTIME_PATH "/2018-06-01/runtime"
#define SCRATCH "/tmp/awstopo"

static const char help[] =
    "usage: awstopo lambda\n"
    "\n"
    "The AWS Lambda custom runtime (the zip's bootstrap runs it; `make lambda` builds the zip).\n"
    "_HANDLER: cron (scan), cwevents (events -> update) or publisher (Kinesis batch -> StackState).\n"
    "Configuration from the environment as for the CLI: AWSTOPO_STACKSTATE_URL, AWSTOPO_API_KEY\n"
    "(or AWSTOPO_API_KEY_PARAMETER, an SSM SecureString, or AWSTOPO_API_KEY_SECRET, a Secrets\n"
    "Manager secret), AWSTOPO_INSTANCE, AWSTOPO_CONFIG,\n"
    "AWSTOPO_REGIONS, AWSTOPO_SERVICES, AWSTOPO_KINESIS_STREAM (cwevents). See docs/lambda.md.\n";

/* ---- the Runtime API ---- */

typedef struct reply {
    buf body;
    char request_id[128];
    long long deadline_ms;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = size * n;
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), p);
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "Lambda-Runtime-Aws-Request-Id:", 30) == 0)
        snprintf(r->request_id, sizeof r->request_id, "%s", line + 30 + strspn(line + 30, " "));
    else if (strncasecmp(line, "Lambda-Runtime-Deadline-Ms:", 27) == 0)
        r->deadline_ms = atoll(line + 27);
    return len;
}

/* GET (body NULL) or POST to the Runtime API; returns the HTTP status or -1. */
static long runtime_call(const char *api, const char *path, const char *body, const char *error_type, reply *r)
{
    CURL *c = curl_easy_init();
    if (!c) return -1;
    buf url = {0};
    buf_printf(&url, "http://%s" RUNTIME_PATH "%s", api, path);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    buf sink = {0};
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r ? &r->body : &sink);
    if (r) {
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    }
    struct curl_slist *h = NULL;
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        h = curl_slist_append(h, "Content-Type: application/json");
        if (error_type) {
            buf t = {0};
            buf_printf(&t, "Lambda-Runtime-Function-Error-Type: %s", error_type);
            h = curl_slist_append(h, t.data);
            buf_free(&t);
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_free(&url);
    buf_free(&sink);
    return status;
}

static char *error_json(const char *type, const char *message)
{
    buf b = {0};
    buf_puts(&b, "{\"errorType\":");
    intake_json_string(&b, type, strlen(type));
    buf_puts(&b, ",\"errorMessage\":");
    intake_json_string(&b, message, strlen(message));
    buf_puts(&b, "}");
    return buf_steal(&b);
}

static void post_error(const char *api, const char *path, const char *type, const char *message)
{
    char *body = error_json(type, message);
    long st = runtime_call(api, path, body, type, NULL);
    if (st < 200 || st >= 300) cli_error("lambda: %s answered %ld", path, st);
    free(body);
}

/* ---- running one invocation ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Stops the child: SIGTERM, a moment, SIGKILL. */
static void stop_child(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 20; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Runs the handler in a child until it ends or the deadline (less the
 * margin) comes. Returns its exit code, or -1 when it was stopped. */
static int run_child(lambda_handler h, const char *event_path, const char *result_path, long long deadline_ms,
                     long margin_ms)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) _exit(lambda_run_handler(h, event_path, result_path));
    for (;;) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
        if (got < 0 && errno != EINTR) return 2;
        if (deadline_ms && now_ms() >= deadline_ms - margin_ms) {
            stop_child(pid);
            return -1;
        }
        sleep_ms(5);
    }
}

static char *read_text(const char *path)
{
    buf b = {0};
    if (read_file(path, &b, 0) < 0) {
        buf_free(&b);
        return NULL;
    }
    return b.data ? buf_steal(&b) : xstrdup("");
}

static int write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void invoke(const char *api, lambda_handler h, reply *r, long margin_ms)
{
    char event_path[256], result_path[256], path[300];
    snprintf(event_path, sizeof event_path, SCRATCH "/event-%s.json", r->request_id);
    snprintf(result_path, sizeof result_path, SCRATCH "/result-%s.json", r->request_id);
    if (write_text(event_path, r->body.data ? r->body.data : "{}", r->body.len) < 0) {
        snprintf(path, sizeof path, "/invocation/%s/error", r->request_id);
        post_error(api, path, "Awstopo.Internal", "cannot write the event under " SCRATCH);
        return;
    }
    long long started = now_ms();
    int code = run_child(h, event_path, result_path, r->deadline_ms, margin_ms);
    char *result = read_text(result_path);
    unlink(event_path);
    unlink(result_path);
    if (code < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "stopped %ld ms before the deadline, after %lld ms: the work was not finished",
                 margin_ms, now_ms() - started);
        snprintf(path, sizeof path, "/invocation/%s/error", r->request_id);
        post_error(api, path, "Awstopo.DeadlineExceeded", msg);
    } else if (code >= 2 || !result) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s failed (exit %d); the log says why", lambda_handler_name(h), code);
        snprintf(path, sizeof path, "/invocation/%s/error", r->request_id);
        post_error(api, path, "Awstopo.HandlerFailed", msg);
    } else {
        snprintf(path, sizeof path, "/invocation/%s/response", r->request_id);
        long st = runtime_call(api, path, result, NULL, NULL);
        if (st < 200 || st >= 300) cli_error("lambda: %s answered %ld", path, st);
    }
    free(result);
}

int cmd_lambda(int argc, char **argv)
{
    if (argc > 1) {
        fputs(help, strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? stdout : stderr);
        return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? EXIT_OK : EXIT_USAGE;
    }
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        cli_error("lambda: AWS_LAMBDA_RUNTIME_API is not set: this runs inside AWS Lambda (see docs/lambda.md)");
        return EXIT_USAGE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    mkdir(SCRATCH, 0700);
    setenv("HOME", SCRATCH, 0);                       /* no HOME in Lambda: caches and spool go to /tmp */
    setenv("AWSTOPO_SPOOL", SCRATCH "/spool", 0);
    const char *name = getenv("_HANDLER");
    lambda_handler h;
    char err[512];
    if (lambda_handler_parse(name, &h) < 0) {
        snprintf(err, sizeof err, "unknown _HANDLER '%s' (cron, cwevents or publisher)", name ? name : "");
        cli_error("lambda: %s", err);
        post_error(api, "/init/error", "Awstopo.UnknownHandler", err);
        return EXIT_FAILURE_;
    }
    if (lambda_init(err, sizeof err) < 0) {
        cli_error("lambda: %s", err);
        post_error(api, "/init/error", "Awstopo.InitFailed", err);
        return EXIT_FAILURE_;
    }
    const char *margin = getenv("AWSTOPO_LAMBDA_MARGIN_MS");
    long margin_ms = margin && atol(margin) > 0 ? atol(margin) : 1000;
    for (;;) {
        reply r = {0};
        long st = runtime_call(api, "/invocation/next", NULL, NULL, &r);
        if (st != 200 || !r.request_id[0]) {
            buf_free(&r.body);
            if (st < 0) {   /* the Runtime API is gone: the sandbox is shutting down */
                cli_error("lambda: the Runtime API at %s does not answer", api);
                return EXIT_FAILURE_;
            }
            sleep_ms(100);
            continue;
        }
        invoke(api, h, &r, margin_ms);
        buf_free(&r.body);
    }
}
