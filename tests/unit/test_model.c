/* test_model.c -- compiling service models (model.c) and finding them on the
 * search path (model_registry.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "model.h"
#include "testlib.h"
#include "util.h"

/* A small model with every kind of shape the compiler handles. Operation
 * names are deliberately not in sorted order. */
static const char *SERVICE_JSON =
    "{\"version\":\"2.0\","
    " \"metadata\":{\"apiVersion\":\"2020-01-01\",\"endpointPrefix\":\"widgets\","
    "   \"protocol\":\"query\",\"protocols\":[\"smithy-rpc-v2-cbor\",\"json\",\"query\"],"
    "   \"jsonVersion\":\"1.1\",\"targetPrefix\":\"Widgets_20200101\",\"serviceId\":\"Widgets\","
    "   \"signatureVersion\":\"v4\",\"awsQueryCompatible\":{}},"
    " \"operations\":{"
    "   \"ListWidgets\":{\"name\":\"ListWidgets\",\"http\":{\"method\":\"GET\",\"requestUri\":\"/widgets\","
    "      \"responseCode\":200},"
    "      \"input\":{\"shape\":\"ListWidgetsRequest\"},"
    "      \"output\":{\"shape\":\"ListWidgetsResult\",\"resultWrapper\":\"ListWidgetsResult\"},"
    "      \"errors\":[{\"shape\":\"WidgetNotFound\"},{\"shape\":\"Throttled\"}]},"
    "   \"DescribeTree\":{\"name\":\"DescribeTree\",\"input\":{\"shape\":\"Tree\"}},"
    "   \"AddWidget\":{\"name\":\"AddWidget\",\"endpoint\":{\"hostPrefix\":\"data-\"},"
    "      \"authtype\":\"none\",\"httpChecksumRequired\":true},"
    "   \"ZapWidgets\":{\"name\":\"ZapWidgets\",\"input\":{\"shape\":\"ListWidgetsRequest\"}},"
    "   \"ListRecords\":{\"name\":\"ListRecords\",\"input\":{\"shape\":\"ListWidgetsRequest\"},"
    "      \"output\":{\"shape\":\"ListWidgetsResult\"}}"
    " },"
    " \"shapes\":{"
    "   \"ListWidgetsRequest\":{\"type\":\"structure\",\"required\":[\"Filter\"],\"members\":{"
    "      \"Filter\":{\"shape\":\"String\",\"locationName\":\"filter\",\"location\":\"querystring\"},"
    "      \"NextToken\":{\"shape\":\"String\"},"
    "      \"MaxItems\":{\"shape\":\"Count\",\"location\":\"header\",\"locationName\":\"x-max\"}}},"
    "   \"ListWidgetsResult\":{\"type\":\"structure\",\"members\":{"
    "      \"Widgets\":{\"shape\":\"WidgetList\",\"locationName\":\"widgetSet\"},"
    "      \"Labels\":{\"shape\":\"LabelMap\",\"flattened\":true},"
    "      \"Created\":{\"shape\":\"Stamp\",\"timestampFormat\":\"rfc822\"},"
    "      \"NextToken\":{\"shape\":\"String\"}}},"
    "   \"WidgetList\":{\"type\":\"list\",\"member\":{\"shape\":\"Widget\",\"locationName\":\"item\"},"
    "      \"flattened\":true},"
    "   \"LabelMap\":{\"type\":\"map\",\"key\":{\"shape\":\"String\",\"locationName\":\"k\"},"
    "      \"value\":{\"shape\":\"Count\",\"locationName\":\"v\"}},"
    "   \"Widget\":{\"type\":\"structure\",\"members\":{"
    "      \"Id\":{\"shape\":\"String\",\"xmlAttribute\":true},"
    "      \"Size\":{\"shape\":\"Size\"},\"Weight\":{\"shape\":\"Weight\"},"
    "      \"Ratio\":{\"shape\":\"Ratio\"},\"On\":{\"shape\":\"Flag\"},\"Data\":{\"shape\":\"Bytes\"},"
    "      \"Colour\":{\"shape\":\"Colour\"}}},"
    "   \"Tree\":{\"type\":\"structure\",\"members\":{"
    "      \"Name\":{\"shape\":\"String\"},\"Children\":{\"shape\":\"TreeList\"}}},"
    "   \"TreeList\":{\"type\":\"list\",\"member\":{\"shape\":\"Tree\"}},"
    "   \"String\":{\"type\":\"string\"},"
    "   \"Count\":{\"type\":\"integer\",\"min\":1,\"max\":100},"
    "   \"Size\":{\"type\":\"long\"},\"Weight\":{\"type\":\"float\"},\"Ratio\":{\"type\":\"double\"},"
    "   \"Flag\":{\"type\":\"boolean\"},\"Bytes\":{\"type\":\"blob\",\"streaming\":true},"
    "   \"Stamp\":{\"type\":\"timestamp\",\"timestampFormat\":\"iso8601\"},"
    "   \"Colour\":{\"type\":\"string\",\"enum\":[\"red\",\"green\",\"blue\"],\"sensitive\":true},"
    "   \"WidgetNotFound\":{\"type\":\"structure\",\"members\":{\"message\":{\"shape\":\"String\"}},"
    "      \"exception\":true,\"error\":{\"code\":\"Widget.NotFound\",\"httpStatusCode\":404}},"
    "   \"Throttled\":{\"type\":\"structure\",\"members\":{},\"exception\":true}"
    " }}";

static const char *PAGINATORS_JSON =
    "{\"pagination\":{"
    "  \"ListWidgets\":{\"input_token\":\"NextToken\",\"output_token\":\"NextToken\","
    "     \"limit_key\":\"MaxItems\",\"result_key\":\"Widgets\"},"
    "  \"ListRecords\":{\"input_token\":[\"StartName\",\"StartType\"],"
    "     \"output_token\":[\"NextName\",\"Contents[-1].Key || NextType\"],"
    "     \"more_results\":\"IsTruncated\",\"result_key\":[\"Widgets\",\"Labels\"],"
    "     \"non_aggregate_keys\":[\"Created\"]},"
    "  \"NoSuchOperation\":{\"input_token\":\"NextToken\",\"output_token\":\"NextToken\"},"
    "  \"AddWidget\":{\"result_key\":\"Widgets\"}"
    "}}";

static aws_model *parse(const char *svc, const char *pag, char *err, size_t errlen)
{
    return model_parse("widgets", svc, strlen(svc), pag, pag ? strlen(pag) : 0, err, errlen);
}

static const member *find_member(const shape *s, const char *name)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (strcmp(s->members[i].name, name) == 0) return &s->members[i];
    return NULL;
}

static void test_metadata(const aws_model *m)
{
    CHECK_STR(m->service, "widgets");
    CHECK_STR(m->api_version, "2020-01-01");
    CHECK_STR(m->endpoint_prefix, "widgets");
    CHECK_STR(m->signing_name, "widgets");          /* defaults to endpointPrefix */
    CHECK_STR(m->service_id, "Widgets");
    CHECK_STR(m->target_prefix, "Widgets_20200101");
    CHECK_STR(m->json_version, "1.1");
    CHECK_STR(m->signature_version, "v4");
    CHECK(m->global_endpoint == NULL, "no global endpoint");
    CHECK(m->query_compatible, "awsQueryCompatible noticed");
    /* protocols: the first one we speak wins over the legacy "protocol" */
    CHECK(m->protocol == PROTO_JSON, "protocol %s, want json", protocol_name(m->protocol));
    CHECK_STR(protocol_name(PROTO_REST_XML), "rest-xml");
    CHECK_STR(protocol_name(PROTO_EC2), "ec2");
}

static void test_operations(const aws_model *m)
{
    CHECK(m->noperations == 5, "%zu operations", m->noperations);
    for (size_t i = 1; i < m->noperations; i++)
        CHECK(strcmp(m->operations[i - 1].name, m->operations[i].name) < 0, "sorted at %zu", i);

    const operation *first = model_operation(m, "AddWidget");
    const operation *last = model_operation(m, "ZapWidgets");
    CHECK(first == &m->operations[0], "first operation found");
    CHECK(last == &m->operations[m->noperations - 1], "last operation found");
    CHECK(model_operation(m, "ListRecords") != NULL, "middle operation found");
    CHECK(model_operation(m, "Aaa") == NULL, "before the first: missing");
    CHECK(model_operation(m, "Zzz") == NULL, "after the last: missing");
    CHECK(model_operation(m, "ListWidget") == NULL, "prefix: missing");
    CHECK(model_operation(m, "listwidgets") == NULL, "case-sensitive");
    CHECK(model_operation(m, "") == NULL, "empty name: missing");

    /* defaults and operation-level fields */
    CHECK_STR(first->http_method, "POST");
    CHECK_STR(first->request_uri, "/");
    CHECK(first->input == NULL && first->output == NULL, "AddWidget has no input/output");
    CHECK_STR(first->host_prefix, "data-");
    CHECK_STR(first->auth_type, "none");
    CHECK(first->http_checksum_required, "httpChecksumRequired");
    CHECK(first->errors && first->errors[0] == NULL, "no errors: empty list");
    CHECK(first->paginator == NULL, "a paginator without input_token is ignored");

    const operation *lw = model_operation(m, "ListWidgets");
    CHECK_STR(lw->name, "ListWidgets");
    CHECK_STR(lw->http_method, "GET");
    CHECK_STR(lw->request_uri, "/widgets");
    CHECK(lw->response_code == 200, "responseCode %d", lw->response_code);
    CHECK(lw->input == model_shape(m, "ListWidgetsRequest"), "input resolved");
    CHECK(lw->output == model_shape(m, "ListWidgetsResult"), "output resolved");
    CHECK_STR(lw->result_wrapper, "ListWidgetsResult");
    CHECK(lw->errors[0] == model_shape(m, "WidgetNotFound"), "first error");
    CHECK(lw->errors[1] == model_shape(m, "Throttled"), "second error");
    CHECK(lw->errors[2] == NULL, "errors NULL-terminated");
}

static void test_shapes(const aws_model *m)
{
    const shape *req = model_shape(m, "ListWidgetsRequest");
    CHECK(req && req->type == SHAPE_STRUCTURE && req->nmembers == 3, "request structure");
    /* members keep the model's order */
    CHECK_STR(req->members[0].name, "Filter");
    CHECK_STR(req->members[1].name, "NextToken");
    CHECK_STR(req->members[2].name, "MaxItems");
    const member *filter = find_member(req, "Filter");
    CHECK(filter->required, "Filter is required");
    CHECK(!find_member(req, "NextToken")->required, "NextToken is optional");
    CHECK_STR(filter->location_name, "filter");
    CHECK(filter->location == LOC_QUERYSTRING, "querystring location");
    CHECK(filter->shape == model_shape(m, "String"), "member shape resolved");
    CHECK(find_member(req, "NextToken")->location == LOC_BODY, "body by default");
    CHECK(find_member(req, "NextToken")->location_name == NULL, "no locationName: NULL");
    CHECK(find_member(req, "MaxItems")->location == LOC_HEADER, "header location");

    const shape *res = model_shape(m, "ListWidgetsResult");
    const member *widgets = find_member(res, "Widgets");
    CHECK_STR(widgets->location_name, "widgetSet");
    CHECK(!widgets->flattened, "member not flattened");
    CHECK(find_member(res, "Labels")->flattened, "member-level flattened");
    CHECK_STR(find_member(res, "Created")->timestamp_format, "rfc822");

    const shape *list = widgets->shape;
    CHECK(list == model_shape(m, "WidgetList") && list->type == SHAPE_LIST, "list");
    CHECK(list->flattened, "shape-level flattened");
    CHECK(list->element.shape == model_shape(m, "Widget"), "list element");
    CHECK(list->element.name == NULL, "element has no name");
    CHECK_STR(list->element.location_name, "item");

    const shape *map = model_shape(m, "LabelMap");
    CHECK(map->type == SHAPE_MAP, "map");
    CHECK(map->key.shape == model_shape(m, "String") && map->value.shape == model_shape(m, "Count"),
          "map key/value");
    CHECK_STR(map->key.location_name, "k");
    CHECK_STR(map->value.location_name, "v");

    const shape *w = model_shape(m, "Widget");
    CHECK(find_member(w, "Id")->xml_attribute, "xmlAttribute");
    CHECK(find_member(w, "Size")->shape->type == SHAPE_LONG, "long");
    CHECK(find_member(w, "Weight")->shape->type == SHAPE_FLOAT, "float");
    CHECK(find_member(w, "Ratio")->shape->type == SHAPE_DOUBLE, "double");
    CHECK(find_member(w, "On")->shape->type == SHAPE_BOOLEAN, "boolean");
    const shape *bytes = find_member(w, "Data")->shape;
    CHECK(bytes->type == SHAPE_BLOB && bytes->streaming, "streaming blob");

    const shape *count = model_shape(m, "Count");
    CHECK(count->type == SHAPE_INTEGER && count->min == 1 && count->max == 100, "integer min/max");
    const shape *stamp = model_shape(m, "Stamp");
    CHECK(stamp->type == SHAPE_TIMESTAMP, "timestamp");
    CHECK_STR(stamp->timestamp_format, "iso8601");

    const shape *colour = model_shape(m, "Colour");
    CHECK(colour->sensitive, "sensitive");
    CHECK(colour->enum_values != NULL, "enum values");
    if (colour->enum_values) {
        CHECK_STR(colour->enum_values[0], "red");
        CHECK_STR(colour->enum_values[2], "blue");
        CHECK(colour->enum_values[3] == NULL, "enum NULL-terminated");
    }
    CHECK(model_shape(m, "String")->enum_values == NULL, "no enum: NULL");

    /* recursion: Tree -> TreeList -> Tree */
    const shape *tree = model_shape(m, "Tree");
    const shape *children = find_member(tree, "Children")->shape;
    CHECK(children->type == SHAPE_LIST && children->element.shape == tree, "recursive shape points back");

    const shape *nf = model_shape(m, "WidgetNotFound");
    CHECK(nf->exception, "exception");
    CHECK_STR(nf->error_code, "Widget.NotFound");
    CHECK(nf->error_status == 404, "error status %d", nf->error_status);
    const shape *thr = model_shape(m, "Throttled");
    CHECK(thr->exception && thr->nmembers == 0 && thr->error_code == NULL, "empty exception");

    CHECK(model_shape(m, "Nope") == NULL, "unknown shape -> NULL");
}

static void test_paginators(const aws_model *m)
{
    const paginator *p = model_operation(m, "ListWidgets")->paginator;
    CHECK(p != NULL, "ListWidgets paginates");
    if (!p) return;
    CHECK_STR(p->input_tokens[0], "NextToken");
    CHECK(p->input_tokens[1] == NULL, "string token -> list of one");
    CHECK_STR(p->output_tokens[0], "NextToken");
    CHECK(p->output_tokens[1] == NULL, "one output token");
    CHECK_STR(p->limit_key, "MaxItems");
    CHECK(p->more_results == NULL, "no more_results");
    CHECK_STR(p->result_keys[0], "Widgets");
    CHECK(p->result_keys[1] == NULL, "one result key");
    CHECK(p->non_aggregate_keys == NULL, "no non_aggregate_keys");

    p = model_operation(m, "ListRecords")->paginator;
    CHECK(p != NULL, "ListRecords paginates");
    if (!p) return;
    CHECK_STR(p->input_tokens[0], "StartName");
    CHECK_STR(p->input_tokens[1], "StartType");
    CHECK(p->input_tokens[2] == NULL, "two input tokens");
    CHECK_STR(p->output_tokens[1], "Contents[-1].Key || NextType");
    CHECK_STR(p->more_results, "IsTruncated");
    CHECK_STR(p->result_keys[1], "Labels");
    CHECK_STR(p->non_aggregate_keys[0], "Created");

    CHECK(model_operation(m, "DescribeTree")->paginator == NULL, "not paginated");
}

static void test_compile(void)
{
    char err[256] = "";
    aws_model *m = parse(SERVICE_JSON, PAGINATORS_JSON, err, sizeof err);
    CHECK(m != NULL, "model compiles: %s", err);
    if (!m) return;
    test_metadata(m);
    test_operations(m);
    test_shapes(m);
    test_paginators(m);
    CHECK(m->path == NULL, "parsed from memory: no path");
    model_free(m);

    /* without paginators: nothing paginates */
    m = parse(SERVICE_JSON, NULL, err, sizeof err);
    CHECK(m && model_operation(m, "ListWidgets")->paginator == NULL, "no paginators file");
    model_free(m);

    /* invalid paginators are ignored, not fatal */
    m = parse(SERVICE_JSON, "{not json", err, sizeof err);
    CHECK(m != NULL, "broken paginators ignored");
    model_free(m);
}

/* model_parse failures: a message that says what is wrong. */
static void expect_error(const char *json, const char *want, const char *what)
{
    char err[256] = "";
    aws_model *m = model_parse("bad", json, strlen(json), NULL, 0, err, sizeof err);
    CHECK(m == NULL, "%s: refused", what);
    CHECK(strstr(err, want) != NULL, "%s: message \"%s\" should contain \"%s\"", what, err, want);
    model_free(m);
}

static void test_errors(void)
{
    const char *meta = "\"metadata\":{\"protocol\":\"json\"}";
    char json[1024];

    snprintf(json, sizeof json,
             "{%s,\"operations\":{},\"shapes\":{\"A\":{\"type\":\"structure\","
             "\"members\":{\"B\":{\"shape\":\"Missing\"}}}}}", meta);
    expect_error(json, "Missing", "unknown member shape");
    expect_error(json, "B", "unknown member shape names the member");

    snprintf(json, sizeof json,
             "{%s,\"operations\":{},\"shapes\":{\"L\":{\"type\":\"list\",\"member\":{\"shape\":\"Gone\"}}}}", meta);
    expect_error(json, "Gone", "unknown list element shape");

    snprintf(json, sizeof json,
             "{%s,\"operations\":{\"Op\":{\"input\":{\"shape\":\"Nowhere\"}}},\"shapes\":{}}", meta);
    expect_error(json, "operation Op: unknown input shape", "unknown input shape");

    snprintf(json, sizeof json,
             "{%s,\"operations\":{\"Op\":{\"output\":{\"shape\":\"Nowhere\"}}},\"shapes\":{}}", meta);
    expect_error(json, "operation Op: unknown output shape", "unknown output shape");

    snprintf(json, sizeof json, "{%s,\"operations\":{},\"shapes\":{\"X\":{\"type\":\"tuple\"}}}", meta);
    expect_error(json, "shape X has unknown type tuple", "unknown shape type");

    expect_error("{\"metadata\":{\"protocol\":\"smithy-rpc-v2-cbor\",\"protocols\":[\"smithy-rpc-v2-cbor\"]},"
                 "\"operations\":{},\"shapes\":{}}",
                 "no protocol", "no protocol we speak");
    expect_error("{\"operations\":{},\"shapes\":{}}", "no metadata", "no metadata");
    expect_error("{\"metadata\":", "not valid JSON", "truncated JSON");

    /* legacy "protocol" alone is enough */
    const char *legacy = "{\"metadata\":{\"protocol\":\"rest-xml\"},\"operations\":{},\"shapes\":{}}";
    char err[256];
    aws_model *m = model_parse("x", legacy, strlen(legacy), NULL, 0, err, sizeof err);
    CHECK(m && m->protocol == PROTO_REST_XML, "metadata.protocol used when protocols is absent");
    CHECK(m && m->noperations == 0 && model_operation(m, "Any") == NULL, "no operations: lookups miss");
    model_free(m);
}

/* ---- the registry ---- */

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void write_gz(const char *path, const char *text)
{
    gzFile f = gzopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    gzwrite(f, text, (unsigned)strlen(text));
    gzclose(f);
}

static void mkdirs(const char *fmt, const char *a, const char *b)
{
    char path[512];
    snprintf(path, sizeof path, fmt, tmpdir, a, b);
    char *p = path + strlen(tmpdir) + 1;
    for (; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

/* A one-operation model whose apiVersion tells which file was loaded. */
static char *tiny_model(const char *version)
{
    buf b = {0};
    buf_printf(&b,
               "{\"metadata\":{\"apiVersion\":\"%s\",\"protocol\":\"json\",\"endpointPrefix\":\"x\"},"
               "\"operations\":{\"Ping\":{\"input\":{\"shape\":\"P\"}}},"
               "\"shapes\":{\"P\":{\"type\":\"structure\",\"members\":{\"T\":{\"shape\":\"S\"}}},"
               "\"S\":{\"type\":\"string\"}}}",
               version);
    return buf_steal(&b);
}

static const char *TINY_PAGINATORS =
    "{\"pagination\":{\"Ping\":{\"input_token\":\"T\",\"output_token\":\"T\"}}}";

static void put_model(const char *relpath, const char *version, int gz)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, relpath);
    char *text = tiny_model(version);
    if (gz) write_gz(path, text); else write_file(path, text);
    free(text);
}

static void test_registry(void)
{
    char err[512];
    /* user/ : botocore layout, three versions; the newest has paginators.
     * user/ also has single-file "solo" and gzip'd "zipped".
     * base/ : "alpha" too (must lose to user/), and "onlybase". */
    mkdirs("%s/user/alpha/%s%s", "2010-01-01", "");
    mkdirs("%s/user/alpha/%s%s", "2021-06-30", "");
    mkdirs("%s/user/alpha/%s%s", "2015-03-15", "");
    put_model("user/alpha/2010-01-01/service-2.json", "2010-01-01", 0);
    put_model("user/alpha/2021-06-30/service-2.json", "2021-06-30", 0);
    put_model("user/alpha/2015-03-15/service-2.json", "2015-03-15", 0);
    char path[512];
    snprintf(path, sizeof path, "%s/user/alpha/2021-06-30/paginators-1.json", tmpdir);
    write_file(path, TINY_PAGINATORS);
    put_model("user/solo.json", "solo", 0);
    snprintf(path, sizeof path, "%s/user/solo.paginators.json", tmpdir);
    write_file(path, TINY_PAGINATORS);
    mkdirs("%s/user/zipped/%s%s", "2019-01-01", "");
    put_model("user/zipped/2019-01-01/service-2.json.gz", "zipped-gz", 1);
    snprintf(path, sizeof path, "%s/user/zipped/2019-01-01/paginators-1.json.gz", tmpdir);
    write_gz(path, TINY_PAGINATORS);
    put_model("user/plaingz.json.gz", "plain-gz", 1);
    mkdirs("%s/base/alpha/%s%s", "2030-01-01", "");
    put_model("base/alpha/2030-01-01/service-2.json", "base", 0);
    put_model("base/onlybase.json", "onlybase", 0);
    snprintf(path, sizeof path, "%s/user/broken.json", tmpdir);
    write_file(path, "{\"metadata\": {\"protocol\": \"json\"}, \"shapes\": {\"A\": {\"type\": \"nope\"}}}");

    char search[300];
    snprintf(search, sizeof search, "%s/missing:%s/user:%s/base", tmpdir, tmpdir, tmpdir);
    model_registry *r = model_registry_new(search);

    const aws_model *m = model_registry_get(r, "alpha", err, sizeof err);
    CHECK(m != NULL, "alpha: %s", err);
    if (m) {
        CHECK_STR(m->api_version, "2021-06-30");   /* user dir first, newest version */
        CHECK(m->path && strstr(m->path, "/user/alpha/2021-06-30/service-2.json"), "path %s", m->path);
        CHECK(model_operation(m, "Ping")->paginator != NULL, "paginators beside the newest version");
    }
    CHECK(model_registry_get(r, "alpha", err, sizeof err) == m, "loaded once, cached");

    m = model_registry_get(r, "solo", err, sizeof err);
    CHECK(m && strcmp(m->api_version, "solo") == 0, "single file <svc>.json");
    CHECK(m && model_operation(m, "Ping")->paginator != NULL, "<svc>.paginators.json");

    m = model_registry_get(r, "zipped", err, sizeof err);
    CHECK(m && strcmp(m->api_version, "zipped-gz") == 0, "gzip'd service-2.json.gz: %s", err);
    CHECK(m && model_operation(m, "Ping")->paginator != NULL, "gzip'd paginators");
    CHECK(m && m->path && strstr(m->path, ".json.gz"), "path names the .gz file");

    m = model_registry_get(r, "plaingz", err, sizeof err);
    CHECK(m && strcmp(m->api_version, "plain-gz") == 0, "<svc>.json.gz: %s", err);

    m = model_registry_get(r, "onlybase", err, sizeof err);
    CHECK(m && strcmp(m->api_version, "onlybase") == 0, "later directory searched: %s", err);

    err[0] = '\0';
    CHECK(model_registry_get(r, "broken", err, sizeof err) == NULL, "broken model refused");
    CHECK(strstr(err, "broken.json") && strstr(err, "unknown type nope"), "message names file and cause: %s", err);

    static const char *bad_names[] = { "../x", "a/b", "", "Alpha", ".", "x y", "x\n" };
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        err[0] = '\0';
        CHECK(model_registry_get(r, bad_names[i], err, sizeof err) == NULL, "'%s' refused", bad_names[i]);
        CHECK(strstr(err, "invalid service name"), "'%s': %s", bad_names[i], err);
    }

    err[0] = '\0';
    CHECK(model_registry_get(r, "nosuch", err, sizeof err) == NULL, "unknown service");
    CHECK(strstr(err, "nosuch") && strstr(err, search), "message lists the search path: %s", err);
    model_registry_free(r);

    /* base alone: its alpha is found */
    snprintf(search, sizeof search, "%s/base", tmpdir);
    r = model_registry_new(search);
    m = model_registry_get(r, "alpha", err, sizeof err);
    CHECK(m && strcmp(m->api_version, "base") == 0, "base/alpha when user/ is not on the path");
    model_registry_free(r);

    r = model_registry_new(NULL);
    CHECK(model_registry_get(r, "alpha", err, sizeof err) == NULL, "empty search path finds nothing");
    model_registry_free(r);

    /* read_file_maybe_gz reads plain and gzip'd files alike */
    size_t len = 0;
    snprintf(path, sizeof path, "%s/user/zipped/2019-01-01/paginators-1.json.gz", tmpdir);
    char *text = read_file_maybe_gz(path, &len);
    CHECK(text && len == strlen(TINY_PAGINATORS) && strcmp(text, TINY_PAGINATORS) == 0, "gunzipped text");
    free(text);
    snprintf(path, sizeof path, "%s/nope.json", tmpdir);
    CHECK(read_file_maybe_gz(path, &len) == NULL, "missing file -> NULL");
}

static void test_bundled(void)
{
    char err[512] = "";
    model_registry *r = model_registry_new("models");
    const aws_model *ec2 = model_registry_get(r, "ec2", err, sizeof err);
    CHECK(ec2 != NULL, "bundled ec2: %s", err);
    if (ec2) {
        CHECK(ec2->protocol == PROTO_EC2, "ec2 protocol");
        CHECK_STR(ec2->api_version, "2016-11-15");
        const operation *di = model_operation(ec2, "DescribeInstances");
        CHECK(di && di->paginator, "DescribeInstances paginates");
        if (di && di->paginator) {
            CHECK_STR(di->paginator->input_tokens[0], "NextToken");
            CHECK_STR(di->paginator->result_keys[0], "Reservations");
        }
    }
    const aws_model *r53 = model_registry_get(r, "route53", err, sizeof err);
    CHECK(r53 != NULL, "bundled route53: %s", err);
    if (r53) {
        CHECK(r53->protocol == PROTO_REST_XML, "route53 protocol");
        CHECK_STR(r53->global_endpoint, "route53.amazonaws.com");
        const operation *op = model_operation(r53, "ListResourceRecordSets");
        const paginator *p = op ? op->paginator : NULL;
        CHECK(p != NULL, "ListResourceRecordSets paginates");
        if (p) {
            int n = 0;
            while (p->input_tokens[n]) n++;
            CHECK(n == 3, "3 input tokens, got %d", n);
            CHECK_STR(p->input_tokens[0], "StartRecordName");
            CHECK_STR(p->input_tokens[1], "StartRecordType");
            CHECK_STR(p->input_tokens[2], "StartRecordIdentifier");
            CHECK_STR(p->output_tokens[2], "NextRecordIdentifier");
            CHECK_STR(p->more_results, "IsTruncated");
            CHECK_STR(p->limit_key, "MaxItems");
        }
        CHECK_STR(op->http_method, "GET");
        CHECK(op->input && op->input->type == SHAPE_STRUCTURE, "input structure");
    }
    model_registry_free(r);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/awstopo-test-model.XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 2; }
    test_compile();
    test_errors();
    test_registry();
    test_bundled();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("could not remove %s\n", tmpdir);
    return test_summary();
}
