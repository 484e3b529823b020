/* cmd_run.c -- `awstopo run`: the daemon (docs/daemon.md).
 *
 * One process with one epoll loop: a signalfd (SIGTERM, SIGINT, SIGHUP,
 * SIGCHLD), the local HTTP listener (httpd.c) and a pipe from each job.
 * The jobs are the other commands' own code run in forked children -- the
 * scan (scan_execute), the Kinesis consumer (events_consume) and the
 * metrics fetch (daemon_metrics.c) -- so a scan that runs for minutes never
 * holds up /healthz, a crash in one job is one failed job, and a scan's
 * memory goes back to the system when it ends. Children report to the loop
 * through their pipe, one "key=value ..." line at a time; the loop keeps
 * the counters, decides when the next job starts (the timers are the
 * epoll_wait timeout) and serves them over HTTP.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "daemon_state.h"
#include "httpd.h"
#include "scheduler.h"
#include "util.h"

static const char help[] =
    "usage: awstopo run --config FILE [options]\n"
    "\n"
    "The daemon: scans at an interval and delivers as `awstopo scan` does, consumes\n"
    "the events of a Kinesis stream continuously as `awstopo events consume` does,\n"
    "optionally fetches CloudWatch metrics at their interval, and serves on a local\n"
    "port:\n"
    "  GET /healthz              200 when the last scan and consume are fresh, else 503;\n"
    "                            a JSON body with the reasons\n"
    "  GET /metrics              Prometheus text: the daemon's own counters and the\n"
    "                            components' CloudWatch series\n"
    "  GET /v1/metrics?component=ID[&metric=NAME...][&from=T&to=T]\n"
    "                            one component's series, fetched on demand (cached per period)\n"
    "The [daemon] section of the configuration says what and when (docs/daemon.md).\n"
    "SIGTERM: finish in-flight work, checkpoint, exit 0. SIGHUP: reload the\n"
    "configuration (a bad one is refused and the old one kept).\n"
    "\n"
    "  --config FILE            configuration file (AWSTOPO_CONFIG); needed\n"
    "  --listen HOST:PORT       overrides [daemon] listen (default 127.0.0.1:9377)\n"
    "  --profile, --region, --role-arn, ...   credentials (awstopo --help)\n"
    "\n"
    "Exit codes: 0 stopped by SIGTERM/SIGINT, 2 could not start (bad configuration,\n"
    "port taken), 64 usage.\n";

/* ---- logging ---- */

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s awstopo run: ", stamp);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- configuration ---- */

/* Reads path into cfg and d. Returns 0, or -1 with every problem logged
 * (nothing of cfg/d kept). */
static int load(daemon_state *s, const char *path, awstopo_config *cfg, daemon_options *d)
{
    char err[1024];
    if (config_load(cfg, path, err, sizeof err) < 0) {
        logf_("%s", err);
        return -1;
    }
    config_apply_env(cfg);
    strlist problems = {0};
    for (size_t i = 0; i < cfg->problems.len; i++) strlist_add(&problems, cfg->problems.items[i]);
    daemon_options_from_config(d, &cfg->daemon, &problems);
    if (s->listen_flag) config_set(&d->listen, s->listen_flag);
    metrics_options mo = {0};
    metrics_options_from_config(&mo, &cfg->metrics, &problems);
    metrics_options_free(&mo);
    if (!problems.len && make_dirs(d->state_dir) < 0) {
        buf b = {0};
        buf_printf(&b, "daemon: state_dir %s: %s", d->state_dir, strerror(errno));
        strlist_add(&problems, b.data);
        buf_free(&b);
    }
    for (size_t i = 0; i < problems.len; i++) logf_("config: %s", problems.items[i]);
    int bad = problems.len > 0;
    strlist_free(&problems);
    if (bad) {
        config_free(cfg);
        daemon_options_free(d);
        return -1;
    }
    return 0;
}

/* ---- jobs: forked children reporting through a pipe ---- */

static daemon_state *g_state;   /* for the children's after-fork cleanup */
static volatile sig_atomic_t child_stop;

static void on_child_stop(int sig)
{
    (void)sig;
    child_stop = 1;
}

/* In a new child: the loop's descriptors closed (never epoll_ctl: the
 * epoll set is shared with the parent), signals back to normal. */
static void child_setup(const job *j)
{
    daemon_state *s = g_state;
    close(s->epfd);
    close(s->sigfd);
    httpd_close_fds(s->http);
    for (size_t i = 0; i < NJOBS; i++)
        if (s->jobs[i].fd >= 0) close(s->jobs[i].fd);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    struct sigaction sa = { .sa_handler = j->kind == JOB_EVENTS ? on_child_stop : SIG_IGN };
    sigaction(SIGTERM, &sa, NULL);   /* the consumer stops after its batch; a scan finishes */
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
}

static void on_job_output(loop_source *src, uint32_t events);

static int job_start(daemon_state *s, job *j, int (*body)(daemon_state *, int wfd))
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        logf_("%s: pipe: %s", j->name, strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        logf_("%s: fork: %s", j->name, strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        child_setup(j);
        int rc = body(s, p[1]);
        fflush(NULL);
        _exit(rc);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    j->pid = pid;
    j->fd = p[0];
    j->started = time(NULL);
    buf_clear(&j->in);
    j->src.on_event = on_job_output;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &j->src };
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, j->fd, &ev);
    logf_("%s started (pid %d)", j->name, (int)pid);
    return 0;
}

/* A child's report lines: "<job> key=value key=value ...". */
static void on_job_output(loop_source *src, uint32_t events)
{
    job *j = (job *)src;
    if (j->fd < 0) return;   /* closed earlier in this round of events */
    char chunk[4096];
    for (;;) {
        ssize_t n = read(j->fd, chunk, sizeof chunk);
        if (n > 0) {
            buf_append(&j->in, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && !(events & EPOLLHUP)) break;
        epoll_ctl(g_state->epfd, EPOLL_CTL_DEL, j->fd, NULL);   /* EOF: the child is ending */
        close(j->fd);
        j->fd = -1;
        break;
    }
    char *line;
    while (j->in.len && (line = memchr(j->in.data, '\n', j->in.len))) {
        *line = '\0';
        state_report(g_state, j, j->in.data);
        size_t used = (size_t)(line - j->in.data) + 1;
        memmove(j->in.data, j->in.data + used, j->in.len - used);
        j->in.len -= used;
    }
}

/* ---- the jobs' bodies (in the child) ---- */

static void topology_paths(const daemon_state *s, buf *final, buf *tmp)
{
    buf_printf(final, "%s/topology.json", s->d.state_dir);
    buf_printf(tmp, "%s/topology.json.tmp", s->d.state_dir);
}

/* The scan, delivered as `awstopo scan` does; the topology is kept in the
 * state directory for the metrics. */
static int scan_body(daemon_state *s, int wfd)
{
    buf final = {0}, tmp = {0};
    topology_paths(s, &final, &tmp);
    scan_options o = { .co = s->co, .config_path = s->config_path };
    o.outputs[0] = (output_spec){ tmp.data, FORMAT_JSON, 1 };
    o.noutputs = 1;
    scan_summary sum;
    int rc = scan_execute(&o, &s->cfg, &sum);
    if (rc != EXIT_FAILURE_ && rename(tmp.data, final.data) < 0) logf_("scan: keeping %s: %s", final.data, strerror(errno));
    dprintf(wfd, "scan rc=%d components=%zu relations=%zu runs=%zu failed_runs=%zu calls=%zu retries=%zu "
                 "throttles=%zu complete=%d seconds=%.3f\n",
            rc, sum.components, sum.relations, sum.runs, sum.failed_runs, sum.calls, sum.retries, sum.throttles,
            sum.complete, sum.seconds);
    buf_free(&final);
    buf_free(&tmp);
    return rc;
}

static void events_round(void *ud, const consume_stats *st)
{
    int wfd = *(int *)ud;
    dprintf(wfd, "events rounds=%zu records=%zu delivered=%zu refused=%zu bad=%zu behind_ms=%lld\n", st->rounds,
            st->records, st->delivered, st->refused, st->bad_records, st->millis_behind);
}

static int events_body(daemon_state *s, int wfd)
{
    events_consume_run r = { .co = &s->co, .stream = s->d.kinesis_stream, .region = s->d.kinesis_region,
                             .checkpoint_dir = s->d.checkpoint_dir, .poll_ms = s->d.poll_ms,
                             .stop = &child_stop, .on_round = events_round, .round_ud = &wfd };
    return events_consume(&r, &s->cfg);
}

/* The metrics of the last scan's components, as `awstopo metrics
 * --topology` does; the OpenMetrics text is kept for /metrics. */
static int metrics_body(daemon_state *s, int wfd)
{
    buf topo = {0}, prom = {0}, tmp = {0};
    buf_printf(&topo, "%s/topology.json", s->d.state_dir);
    buf_printf(&prom, "%s/metrics.prom", s->d.state_dir);
    buf_printf(&tmp, "%s/metrics.prom.tmp", s->d.state_dir);
    metrics_cli m = { .scan = { .co = s->co, .config_path = s->config_path }, .topology_file = topo.data };
    m.outputs[m.noutputs++] = (metrics_output){ tmp.data, MFORMAT_OPENMETRICS, 1 };
    metrics_report rep;
    int rc = metrics_execute(&m, &s->cfg, &rep);
    if (rc != EXIT_FAILURE_ && rename(tmp.data, prom.data) < 0) logf_("metrics: %s: %s", prom.data, strerror(errno));
    dprintf(wfd, "metrics rc=%d requested=%zu calls=%zu failed=%zu no_data=%zu\n", rc, rep.requested, rep.calls,
            rep.failed, rep.no_data);
    buf_free(&topo);
    buf_free(&prom);
    buf_free(&tmp);
    return rc;
}

/* ---- scheduling ---- */

static double jittered(const daemon_state *s)
{
    double u = (double)random() / (double)RAND_MAX;
    return (double)s->d.scan_interval * (1.0 + s->d.scan_jitter * (2.0 * u - 1.0));
}

/* When the scan that just ended (rc) is followed by the next: the interval
 * after its start; after a failure sooner (1, 2, 4 ... minutes), never
 * later than the interval. */
static void plan_next_scan(daemon_state *s, int rc)
{
    job *j = &s->jobs[JOB_SCAN];
    double wait = jittered(s);
    if (rc != EXIT_OK && s->scan.failures_in_row < 7) {
        double retry = 60.0 * (double)(1 << (s->scan.failures_in_row - 1));
        if (retry < wait) wait = retry;
    }
    s->next_scan = (double)j->started + wait;
}

static void plan_next_metrics(daemon_state *s, double now)
{
    s->next_metrics = metrics_next_fetch(now, s->mo_interval, s->mo_delay);
}

static void start_due(daemon_state *s)
{
    double now = (double)time(NULL);
    if (s->stopping) return;
    if (!s->jobs[JOB_SCAN].pid && now >= s->next_scan) {
        if (job_start(s, &s->jobs[JOB_SCAN], scan_body) < 0) s->next_scan = now + 60;
        else s->next_scan = INFINITY;   /* planned when it ends */
    }
    if (s->d.kinesis_stream && !s->jobs[JOB_EVENTS].pid && now >= s->next_events) {
        if (job_start(s, &s->jobs[JOB_EVENTS], events_body) < 0) s->next_events = now + 5;
    }
    if (s->d.metrics && !s->jobs[JOB_METRICS].pid && now >= s->next_metrics) {
        buf topo = {0};
        buf_printf(&topo, "%s/topology.json", s->d.state_dir);
        struct stat st;
        if (stat(topo.data, &st) == 0) {
            job_start(s, &s->jobs[JOB_METRICS], metrics_body);
            plan_next_metrics(s, now);
        } else {
            s->next_metrics = now + 2;   /* the first scan is not done: its components come soon */
        }
        buf_free(&topo);
    }
}

/* A child ended: its counters, and when the job runs next. */
static void job_ended(daemon_state *s, job *j, int status)
{
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (j->fd >= 0) on_job_output(&j->src, EPOLLHUP);   /* what it wrote last */
    if (rc < 0) logf_("%s (pid %d) killed by signal %d", j->name, (int)j->pid, WTERMSIG(status));
    else logf_("%s (pid %d) ended with exit code %d", j->name, (int)j->pid, rc);
    j->pid = 0;
    double now = (double)time(NULL);
    state_job_ended(s, j, rc);
    if (j->kind == JOB_SCAN) plan_next_scan(s, rc);
    else if (j->kind == JOB_EVENTS) s->next_events = now + (rc == EXIT_OK ? 0 : 5);   /* restarted; backed off */
}

static void reap(daemon_state *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (size_t i = 0; i < NJOBS; i++)
            if (s->jobs[i].pid == pid) job_ended(s, &s->jobs[i], status);
}

/* ---- signals ---- */

static void begin_stop(daemon_state *s, int sig)
{
    if (s->stopping) return;
    s->stopping = 1;
    s->stop_deadline = time(NULL) + s->d.stop_timeout;
    logf_("%s: finishing what runs, then exiting", strsignal(sig));
    if (s->jobs[JOB_EVENTS].pid) kill(s->jobs[JOB_EVENTS].pid, SIGTERM);   /* stops after its batch, checkpointed */
}

static void reload(daemon_state *s)
{
    awstopo_config cfg;
    daemon_options d;
    if (load(s, s->config_path, &cfg, &d) < 0) {
        logf_("SIGHUP: the configuration %s has problems: keeping the one in use", s->config_path);
        return;
    }
    if (strcmp(d.listen, s->d.listen) != 0) {
        char err[512];
        httpd *h = httpd_new(d.listen, s->epfd, state_serve, s, err, sizeof err);
        if (!h) {
            logf_("SIGHUP: %s: keeping the configuration in use", err);
            config_free(&cfg);
            daemon_options_free(&d);
            return;
        }
        httpd_free(s->http);
        s->http = h;
    }
    int stream_changed = (d.kinesis_stream == NULL) != (s->d.kinesis_stream == NULL) ||
                         (d.kinesis_stream && strcmp(d.kinesis_stream, s->d.kinesis_stream) != 0);
    long old_interval = s->d.scan_interval;
    config_free(&s->cfg);
    daemon_options_free(&s->d);
    s->cfg = cfg;
    s->d = d;
    state_configured(s);
    if (s->d.scan_interval != old_interval && !s->jobs[JOB_SCAN].pid) plan_next_scan(s, EXIT_OK);
    if (stream_changed && s->jobs[JOB_EVENTS].pid) kill(s->jobs[JOB_EVENTS].pid, SIGTERM);   /* restarts on the new one */
    if (s->d.metrics) plan_next_metrics(s, (double)time(NULL));
    logf_("SIGHUP: configuration %s reloaded (scan every %lds, events %s, metrics %s)", s->config_path,
          s->d.scan_interval, s->d.kinesis_stream ? s->d.kinesis_stream : "off", s->d.metrics ? "on" : "off");
}

typedef struct signal_source {
    loop_source src;
    daemon_state *s;
} signal_source;

static void on_signal(loop_source *src, uint32_t events)
{
    (void)events;
    daemon_state *s = ((signal_source *)src)->s;
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) reap(s);
        else if (si.ssi_signo == SIGHUP) reload(s);
        else begin_stop(s, (int)si.ssi_signo);
    }
}

/* ---- the loop ---- */

static int jobs_running(const daemon_state *s)
{
    for (size_t i = 0; i < NJOBS; i++)
        if (s->jobs[i].pid) return 1;
    return 0;
}

/* epoll_wait's timeout: until the next job is due (at most a second, for
 * httpd's timeouts and the stop deadline). */
static int wait_ms(const daemon_state *s)
{
    double now = (double)time(NULL), next = now + 1.0;
    if (!s->stopping) {
        if (s->next_scan < next) next = s->next_scan;
        if (s->d.kinesis_stream && s->next_events < next) next = s->next_events;
        if (s->d.metrics && s->next_metrics < next) next = s->next_metrics;
    }
    double ms = (next - now) * 1000.0;
    return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

static void loop(daemon_state *s)
{
    struct epoll_event evs[32];
    while (!s->stopping || jobs_running(s)) {
        start_due(s);
        int n = epoll_wait(s->epfd, evs, 32, wait_ms(s));
        for (int i = 0; i < n; i++) {
            loop_source *src = evs[i].data.ptr;
            src->on_event(src, evs[i].events);
        }
        httpd_tick(s->http, sched_now_ms());
        if (s->stopping && time(NULL) >= s->stop_deadline) {
            for (size_t i = 0; i < NJOBS; i++) {
                if (!s->jobs[i].pid) continue;
                logf_("%s (pid %d) still running after stop_timeout: killed", s->jobs[i].name, (int)s->jobs[i].pid);
                kill(s->jobs[i].pid, SIGKILL);
            }
            s->stop_deadline = time(NULL) + 5;
        }
    }
}

static int parse_args(daemon_state *s, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help, stdout);
            exit(EXIT_OK);
        } else if ((rc = take_value(argc, argv, &i, "--config", &s->config_path)) != 0 ||
                   (rc = take_value(argc, argv, &i, "--listen", &s->listen_flag)) != 0 ||
                   (rc = common_option(&s->co, argc, argv, &i)) != 0) {
            if (rc < 0) return -1;
        } else {
            cli_error("run: unknown argument '%s' (see awstopo run --help)", argv[i]);
            return -1;
        }
    }
    if (!s->config_path) s->config_path = getenv("AWSTOPO_CONFIG");
    if (!s->config_path) {
        cli_error("run: --config FILE is needed (the [daemon] section says what to do; docs/daemon.md)");
        return -1;
    }
    return 0;
}

/* The signals come through the signalfd only: blocked for the process. */
static int open_signals(daemon_state *s, signal_source *ss)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd < 0) return -1;
    ss->src.on_event = on_signal;
    ss->s = s;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &ss->src };
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sigfd, &ev);
}

int cmd_run(int argc, char **argv)
{
    daemon_state s = {0};
    if (parse_args(&s, argc, argv) < 0) return EXIT_USAGE;
    if (load(&s, s.config_path, &s.cfg, &s.d) < 0) return EXIT_FAILURE_;
    g_state = &s;
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    state_init(&s);
    int rc = EXIT_OK;
    char err[512];
    signal_source ss;
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd < 0 || open_signals(&s, &ss) < 0) {
        logf_("epoll/signalfd: %s", strerror(errno));
        rc = EXIT_FAILURE_;
    } else if (!(s.http = httpd_new(s.d.listen, s.epfd, state_serve, &s, err, sizeof err))) {
        logf_("%s", err);
        rc = EXIT_FAILURE_;
    } else {
        logf_("listening on %s (port %d); scan every %lds, events %s, metrics %s", s.d.listen, httpd_port(s.http),
              s.d.scan_interval, s.d.kinesis_stream ? s.d.kinesis_stream : "off", s.d.metrics ? "on" : "off");
        loop(&s);
        logf_("stopped");
    }
    httpd_free(s.http);
    if (s.sigfd > 0) close(s.sigfd);
    if (s.epfd >= 0) close(s.epfd);
    state_free(&s);
    config_free(&s.cfg);
    daemon_options_free(&s.d);
    return rc;
}
