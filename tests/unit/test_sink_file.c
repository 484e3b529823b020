/* test_sink_file.c -- local outputs: json, dot (rendered by Graphviz when present), intake;
 * streamed, whatever the size. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "intake.h"
#include "sink.h"
#include "testlib.h"

static char dir[] = "/tmp/awstopo-test-sink-file.XXXXXX";

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
    fclose(f);
    return buf_steal(&b);
}

static void component(topology *t, const char *id, const char *type, const char *name, const char *layer)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "externalId", id);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "type"), "name", type);
    cJSON *data = cJSON_AddObjectToObject(c, "data");
    if (name) cJSON_AddStringToObject(data, "name", name);
    if (layer) cJSON_AddStringToObject(data, "layer", layer);
    char *s = cJSON_PrintUnformatted(c);
    topology_add(t, TOPO_COMPONENT, id, s, strlen(s));
    free(s);
    cJSON_Delete(c);
}

static void relation(topology *t, const char *src, const char *type, const char *dst)
{
    char id[512];
    snprintf(id, sizeof id, "%s-%s-%s", src, type, dst);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "externalId", id);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "type"), "name", type);
    cJSON_AddStringToObject(r, "sourceId", src);
    cJSON_AddStringToObject(r, "targetId", dst);
    cJSON_AddObjectToObject(r, "data");
    char *s = cJSON_PrintUnformatted(r);
    topology_add(t, TOPO_RELATION, id, s, strlen(s));
    free(s);
    cJSON_Delete(r);
}

static void sample(topology *t)
{
    topology_init(t);
    component(t, "arn:aws:ec2:eu-west-1:123:vpc/vpc-1", "aws.ec2.vpc", "main vpc", "Networking");
    component(t, "arn:aws:ec2:eu-west-1:123:subnet/subnet-1", "aws.ec2.subnet", "private \"a\"", "Networking");
    component(t, "arn:aws:ec2:eu-west-1:123:instance/i-1", "aws.ec2.instance", "web\nserver", "Machines");
    component(t, "odd \"id\" \\ with {braces} -> arrows", "aws.misc.thing", NULL, NULL);
    relation(t, "arn:aws:ec2:eu-west-1:123:subnet/subnet-1", "uses", "arn:aws:ec2:eu-west-1:123:vpc/vpc-1");
    relation(t, "arn:aws:ec2:eu-west-1:123:instance/i-1", "uses", "arn:aws:ec2:eu-west-1:123:subnet/subnet-1");
    relation(t, "odd \"id\" \\ with {braces} -> arrows", "runs on", "arn:aws:ec2:eu-west-1:123:instance/i-1");
    relation(t, "arn:aws:ec2:eu-west-1:123:instance/i-1", "uses", "arn:aws:iam::123:role/elsewhere");
    topology_add(t, TOPO_DELETE, "arn:aws:ec2:eu-west-1:123:instance/i-gone", NULL, 0);
}

static void test_parse(void)
{
    output_format f = FORMAT_JSON;
    CHECK(output_format_parse("intake", &f) == 0 && f == FORMAT_INTAKE, "intake");
    CHECK(output_format_parse("json", &f) == 0 && f == FORMAT_JSON, "json");
    CHECK(output_format_parse("dot", &f) == 0 && f == FORMAT_DOT, "dot");
    CHECK(output_format_parse("yaml", &f) == -1 && f == FORMAT_DOT, "unknown refused, out untouched");
    CHECK(output_format_parse("JSON", &f) == -1, "case-sensitive");
    CHECK(output_format_parse(NULL, &f) == -1, "NULL");
}

static void test_json(void)
{
    topology t;
    sample(&t);
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/out.json", dir);
    CHECK(sink_file_write(path, FORMAT_JSON, &t, NULL, err, sizeof err) == 0, "write json: %s", err);
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    CHECK(j != NULL, "valid JSON: %.300s", text);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "components")) == 4, "4 components");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "relations")) == 4, "4 relations");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "delete_ids"), 0)),
              "arn:aws:ec2:eu-west-1:123:instance/i-gone");
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "components"), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "data"), "name")), "web\nserver");
    /* One item per line: 4 + 4 + 1 items, plus 3 array openers/closers and the braces. */
    int lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    CHECK(lines == 9 + 3 + 3 + 2, "lines: %d", lines);
    CHECK(strstr(text, "\n    {\"externalId\":\"arn:aws:ec2:eu-west-1:123:vpc/vpc-1\"") != NULL, "item on its own line");
    cJSON_Delete(j);
    free(text);
    topology_free(&t);

    topology_init(&t);
    CHECK(sink_file_write(path, FORMAT_JSON, &t, NULL, err, sizeof err) == 0, "empty");
    text = slurp(path);
    CHECK_STR(text, "{\n  \"components\": [],\n  \"relations\": [],\n  \"delete_ids\": []\n}\n");
    free(text);
    topology_free(&t);
}

static void test_dot(void)
{
    topology t;
    sample(&t);
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/out.dot", dir);
    CHECK(sink_file_write(path, FORMAT_DOT, &t, NULL, err, sizeof err) == 0, "write dot: %s", err);
    char *text = slurp(path);
    CHECK(strncmp(text, "digraph topology {\n", 19) == 0, "a digraph");
    CHECK(strstr(text, "subgraph cluster_0 {\n    label=\"Networking\";") != NULL, "cluster per layer");
    CHECK(strstr(text, "subgraph cluster_1 {\n    label=\"Machines\";") != NULL, "second layer");
    CHECK(strstr(text, "\"arn:aws:ec2:eu-west-1:123:subnet/subnet-1\" [label=\"private \\\"a\\\"\\naws.ec2.subnet\", fillcolor=\"#") != NULL,
          "node label = name \\n type, escaped");
    CHECK(strstr(text, "[label=\"web\\nserver\\naws.ec2.instance\"") != NULL, "newline in a name");
    CHECK(strstr(text, "\"odd \\\"id\\\" \\\\ with {braces} -> arrows\" [label=\"odd \\\"id\\\" \\\\ with {braces} -> arrows\\naws.misc.thing\"") != NULL,
          "odd id escaped, name falls back to the id");
    CHECK(strstr(text, "\"arn:aws:ec2:eu-west-1:123:instance/i-1\" -> \"arn:aws:ec2:eu-west-1:123:subnet/subnet-1\" [label=\"uses\"];") != NULL,
          "edge with relation type");
    CHECK(strstr(text, "\"arn:aws:iam::123:role/elsewhere\" [style=\"rounded,dashed\"") != NULL, "missing endpoint dashed");
    CHECK(strstr(text, "1 delete(s) not drawn") != NULL, "deletes noted");
    int edges = 0;
    for (char *p = text; (p = strstr(p, " -> \"")); p++) edges++;
    CHECK(edges == 4, "4 edges: %d", edges);

    if (access("/usr/bin/dot", X_OK) == 0) {
        char svg[300], cmd[700];
        snprintf(svg, sizeof svg, "%s/out.svg", dir);
        snprintf(cmd, sizeof cmd, "/usr/bin/dot -Tsvg '%s' -o '%s' 2>'%s/dot.err'", path, svg, dir);
        int rc = system(cmd);
        char errpath[300];
        snprintf(errpath, sizeof errpath, "%s/dot.err", dir);
        char *derr = slurp(errpath);
        CHECK(rc == 0 && derr && !derr[0], "dot -Tsvg renders it (rc %d): %s", rc, derr ? derr : "");
        free(derr);
        char *s = slurp(svg);
        CHECK(s && strstr(s, "<svg") && strstr(s, "main vpc") && strstr(s, "aws.ec2.instance"), "svg has the labels");
        CHECK(s && strstr(s, "cluster_1"), "svg has the clusters");
        free(s);
    } else {
        printf("(no /usr/bin/dot: rendering not checked)\n");
    }
    free(text);
    topology_free(&t);

    /* Empty topology and an unparseable item still give a valid graph. */
    topology_init(&t);
    topology_add(&t, TOPO_COMPONENT, "broken", "{not json", 9);
    CHECK(sink_file_write(path, FORMAT_DOT, &t, NULL, err, sizeof err) == 0, "dot with broken item");
    text = slurp(path);
    CHECK(strstr(text, "\"broken\" [label=\"broken\\n?\"") != NULL, "broken item drawn by its id");
    free(text);
    if (access("/usr/bin/dot", X_OK) == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "/usr/bin/dot -Tsvg '%s' >/dev/null 2>&1", path);
        CHECK(system(cmd) == 0, "renders");
    }
    topology_free(&t);
}

static void test_intake(void)
{
    topology t;
    sample(&t);
    payload_list l = {0};
    intake_options o = { .hostname = "h", .max_items = 3, .instance_url = "acct" };
    intake_build(&t, &o, INTAKE_SNAPSHOT_COMPLETE, &l);
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/out.intake.json", dir);
    CHECK(sink_file_write(path, FORMAT_INTAKE, &t, &l, err, sizeof err) == 0, "write intake");
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    CHECK(cJSON_IsArray(j) && cJSON_GetArraySize(j) == (int)l.len && l.len == 3, "array of %zu payloads", l.len);
    cJSON *first = cJSON_GetArrayItem(j, 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(first, "internalHostname")), "h");
    CHECK(strstr(text, l.items[1].data) != NULL, "payloads written as they are");
    cJSON_Delete(j);
    free(text);

    CHECK(sink_file_write(path, FORMAT_INTAKE, &t, NULL, err, sizeof err) == -1, "intake without payloads refused");
    payload_list_free(&l);
    payload_list empty = {0};
    CHECK(sink_file_write(path, FORMAT_INTAKE, &t, &empty, err, sizeof err) == 0, "no payloads");
    text = slurp(path);
    CHECK_STR(text, "[]\n");
    free(text);
    topology_free(&t);
}

/* The streaming writer: output far larger than its buffer, items larger
 * than it too, byte for byte what the format says; and intake made from the
 * topology (one payload at a time) the same as from a list. */
static void test_streaming(void)
{
    topology t;
    topology_init(&t);
    buf want = {0};
    buf_puts(&want, "{\n  \"components\": [");
    for (int i = 0; i < 3000; i++) {
        buf id = {0}, j = {0};
        buf_printf(&id, "id-%04d", i);
        size_t pad = i == 1500 ? 200000 : (size_t)(i % 97) * 3;   /* one item of 200 KB */
        buf_printf(&j, "{\"externalId\":\"%s\",\"type\":{\"name\":\"t%d\"},\"data\":{\"pad\":\"", id.data, i % 5);
        for (size_t k = 0; k < pad; k++) buf_putc(&j, (char)('a' + (k + (size_t)i) % 26));
        buf_puts(&j, "\"}}");
        topology_add(&t, TOPO_COMPONENT, id.data, j.data, j.len);
        buf_puts(&want, i ? ",\n    " : "\n    ");
        buf_append(&want, j.data, j.len);
        buf_free(&id);
        buf_free(&j);
    }
    buf_puts(&want, "\n  ],\n  \"relations\": [],\n  \"delete_ids\": [\n    \"gone\"\n  ]\n}\n");
    topology_add(&t, TOPO_DELETE, "gone", NULL, 0);

    char path[256], err[256];
    snprintf(path, sizeof path, "%s/big.json", dir);
    CHECK(sink_file_write_topology(path, FORMAT_JSON, &t, NULL, INTAKE_SNAPSHOT_COMPLETE, err, sizeof err) == 0,
          "write big json: %s", err);
    char *text = slurp(path);
    CHECK(text && strlen(text) == want.len && strcmp(text, want.data) == 0, "big json: %zu bytes, want %zu",
          text ? strlen(text) : 0, want.len);
    free(text);
    buf_free(&want);

    /* intake: from the topology = from the list intake_build makes. */
    intake_options o = { .hostname = "h", .instance_url = "acct", .collection_timestamp = 1700000000, .max_items = 100 };
    payload_list l = {0};
    intake_build(&t, &o, INTAKE_SNAPSHOT_INCOMPLETE, &l);
    char path2[256];
    snprintf(path2, sizeof path2, "%s/big-list.intake.json", dir);
    snprintf(path, sizeof path, "%s/big-topology.intake.json", dir);
    CHECK(sink_file_write(path2, FORMAT_INTAKE, &t, &l, err, sizeof err) == 0, "intake from the list: %s", err);
    CHECK(sink_file_write_topology(path, FORMAT_INTAKE, &t, &o, INTAKE_SNAPSHOT_INCOMPLETE, err, sizeof err) == 0,
          "intake from the topology: %s", err);
    char *a = slurp(path2), *b = slurp(path);
    buf w = {0};
    buf_puts(&w, "[");
    for (size_t i = 0; i < l.len; i++) {
        buf_puts(&w, i ? ",\n" : "\n");
        buf_append(&w, l.items[i].data, l.items[i].len);
    }
    buf_puts(&w, "\n]\n");
    CHECK(l.len == 31, "31 payloads: %zu", l.len);
    CHECK(a && strcmp(a, w.data) == 0, "list: the payloads in a JSON array, byte for byte");
    CHECK(b && strcmp(b, w.data) == 0, "topology: the same bytes");
    free(a);
    free(b);
    buf_free(&w);
    payload_list_free(&l);

    /* dot from both entry points: the same. */
    snprintf(path2, sizeof path2, "%s/big-a.dot", dir);
    snprintf(path, sizeof path, "%s/big-b.dot", dir);
    CHECK(sink_file_write(path2, FORMAT_DOT, &t, NULL, err, sizeof err) == 0 &&
              sink_file_write_topology(path, FORMAT_DOT, &t, NULL, INTAKE_SNAPSHOT_COMPLETE, err, sizeof err) == 0,
          "dot: %s", err);
    a = slurp(path2);
    b = slurp(path);
    CHECK(a && b && strcmp(a, b) == 0 && strlen(a) > 65536 * 2 && strstr(a, "\"id-2999\" [label=\"id-2999\\nt4\""),
          "dot streamed: %zu bytes", a ? strlen(a) : 0);
    free(a);
    free(b);

    /* An empty incremental topology: no payload, an empty array. */
    topology e;
    topology_init(&e);
    CHECK(sink_file_write_topology(path, FORMAT_INTAKE, &e, &o, INTAKE_INCREMENTAL, err, sizeof err) == 0, "empty");
    text = slurp(path);
    CHECK_STR(text, "[]\n");
    free(text);
    topology_free(&e);

    /* A write error while streaming is reported. */
    if (access("/dev/full", W_OK) == 0) {
        CHECK(sink_file_write_topology("/dev/full", FORMAT_INTAKE, &t, &o, INTAKE_SNAPSHOT_COMPLETE, err, sizeof err) == -1 &&
                  strstr(err, "cannot write /dev/full: No space left on device"), "full device: %s", err);
    }
    topology_free(&t);
}

static void test_stdout_and_errors(void)
{
    topology t;
    sample(&t);
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/stdout.txt", dir);
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    close(fd);
    int rc = sink_file_write("-", FORMAT_JSON, &t, NULL, err, sizeof err);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK(rc == 0, "write to stdout");
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "components")) == 4, "stdout got the JSON");
    cJSON_Delete(j);
    free(text);

    err[0] = 0;
    CHECK(sink_file_write("/nonexistent-dir/x.json", FORMAT_JSON, &t, NULL, err, sizeof err) == -1, "bad path");
    CHECK(strstr(err, "cannot open /nonexistent-dir/x.json") != NULL, "message: %s", err);
    if (access("/dev/full", W_OK) == 0) {
        CHECK(sink_file_write("/dev/full", FORMAT_JSON, &t, NULL, err, sizeof err) == -1, "full device");
        CHECK(strstr(err, "cannot write /dev/full") != NULL, "message: %s", err);
    }
    topology_free(&t);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_parse();
    test_json();
    test_dot();
    test_intake();
    test_streaming();
    test_stdout_and_errors();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return test_summary();
}
