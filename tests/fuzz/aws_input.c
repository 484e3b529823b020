/* aws_input.c -- operation table and response reader of aws_input.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "aws_input.h"
#include "util.h"

static model_registry *reg;   /* kept: the models live as long as the process */
static fuzz_op *ops;
static size_t nops;

static void add_model(const aws_model *m, int need_output)
{
    for (size_t i = 0; i < m->noperations; i++) {
        if (need_output && !m->operations[i].output) continue;
        ops = xrealloc(ops, (nops + 1) * sizeof *ops);
        ops[nops++] = (fuzz_op){ m, &m->operations[i] };
    }
}

void fuzz_ops_load(int (*want)(protocol_kind), int need_output)
{
    reg = model_registry_new("models");
    struct dirent **names;
    int n = scandir("models", &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char err[512];
        const char *name = names[i]->d_name;
        const aws_model *m = name[0] != '.' && !strchr(name, '.') ? model_registry_get(reg, name, err, sizeof err)
                                                                   : NULL;
        if (m && (!want || want(m->protocol))) add_model(m, need_output);
        free(names[i]);
    }
    free(names);
    if (!nops) {
        fprintf(stderr, "fuzz: no operations loaded from models/ (run from the repository's top directory)\n");
        exit(2);
    }
}

static const fuzz_op *pick(const char *line, size_t len, long *status)
{
    char service[64] = "", opname[128] = "", text[256];
    long st = 0;
    snprintf(text, sizeof text, "%.*s", (int)(len < 255 ? len : 255), line);
    if (sscanf(text, "%63s %127s %ld", service, opname, &st) == 3 && st >= 100 && st <= 599) *status = st;
    for (size_t i = 0; i < nops; i++)
        if (strcmp(ops[i].m->service, service) == 0 && strcmp(ops[i].op->name, opname) == 0) return &ops[i];
    uint32_t h = 2166136261u;   /* FNV-1a of the line */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)line[i]) * 16777619u;
    return &ops[h % nops];
}

/* Where the body starts: after the first empty line, or text itself when
 * there is none (no headers then). */
static const char *body_start(const char *text, size_t len)
{
    const char *end = text + len;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        if (nl == p || (nl == p + 1 && *p == '\r')) return nl + 1;
        p = nl + 1;
    }
    return text;
}

static void add_headers(http_response *resp, const char *p, const char *end)
{
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)(nl - p);
        if (n && p[n - 1] == '\r') n--;
        const char *colon = n ? memchr(p, ':', n) : NULL;
        if (colon) {
            char *name = xstrndup(p, (size_t)(colon - p));
            const char *v = colon + 1;
            while (v < p + n && (*v == ' ' || *v == '\t')) v++;
            char *value = xstrndup(v, (size_t)(p + n - v));
            headers_add(&resp->headers, name, value);
            free(name);
            free(value);
        }
        p = nl + 1;
    }
}

const fuzz_op *fuzz_response_read(const uint8_t *data, size_t size, long default_status,
                                  http_response *resp)
{
    const char *line, *rest;
    size_t line_len, rest_len;
    fuzz_first_line(data, size, &line, &line_len, &rest, &rest_len);
    response_init(resp);
    resp->status = default_status;
    const fuzz_op *o = pick(line, line_len, &resp->status);
    const char *body = body_start(rest, rest_len);
    add_headers(resp, rest, body);   /* the lines before the empty one */
    buf_append(&resp->body, body, (size_t)(rest + rest_len - body));
    return o;
}
