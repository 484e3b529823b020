/* bench_decode.c -- how fast responses become Lua tables (protocol_parse).
 *
 * Generates large, realistic response pages in memory -- an EC2
 * DescribeInstances XML page (1000 reservations x 5 instances), a Lambda
 * ListFunctions JSON page (5000 functions) and a DynamoDB Scan JSON page
 * (5000 items) -- and times, on the same bytes in the same run:
 *   - a raw parse with no result: awstopo's XML reader (xml_scan) and expat
 *     with no-op handlers, cJSON_Parse;
 *   - protocol_parse into Lua tables, with the real models;
 *   - for JSON, luajson_decode (cJSON tree -> Lua, no shape) for reference.
 * Prints MB/s, values/s (XML elements or JSON values in the page) and
 * items/s (instances, functions, items). Figures, not pass/fail.
 *
 * Models come from $AWSTOPO_MODEL_PATH, else ../shared/aws-models (the
 * full botocore models), else the bundled models/ (trimmed: DynamoDB Scan
 * is not in them, and that page is then left out).
 */
#include <cjson/cJSON.h>
#include <expat.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "luajson.h"
#include "model.h"
#include "protocol.h"
#include "request.h"
#include "xml_scan.h"

#define RESERVATIONS 1000
#define PER_RESERVATION 5
#define FUNCTIONS 5000
#define SCAN_ITEMS 5000
#define ROUNDS 7

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);   /* CPU time: steady on a busy machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the pages ---- */

static void gen_instance(buf *b, int r, int i)
{
    int n = r * PER_RESERVATION + i;
    buf_printf(b,
        "<item><instanceId>i-%017x</instanceId><imageId>ami-0abcdef1234567890</imageId>"
        "<instanceState><code>16</code><name>running</name></instanceState>"
        "<privateDnsName>ip-10-0-%d-%d.eu-west-1.compute.internal</privateDnsName>"
        "<dnsName>ec2-54-1-%d-%d.eu-west-1.compute.amazonaws.com</dnsName><reason/>"
        "<keyName>deploy-key</keyName><amiLaunchIndex>%d</amiLaunchIndex><productCodes/>"
        "<instanceType>m5.large</instanceType><launchTime>2024-03-%02dT10:%02d:17.000Z</launchTime>"
        "<placement><availabilityZone>eu-west-1%c</availabilityZone><groupName/><tenancy>default</tenancy></placement>"
        "<monitoring><state>disabled</state></monitoring><subnetId>subnet-%08x</subnetId>"
        "<vpcId>vpc-0a1b2c3d</vpcId><privateIpAddress>10.0.%d.%d</privateIpAddress>"
        "<ipAddress>54.1.%d.%d</ipAddress><sourceDestCheck>true</sourceDestCheck>"
        "<groupSet><item><groupId>sg-0123456789abcdef0</groupId><groupName>web</groupName></item>"
        "<item><groupId>sg-0fedcba9876543210</groupId><groupName>ssh-from-bastion</groupName></item></groupSet>"
        "<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>"
        "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping>",
        n, r % 256, i, r % 256, i, i, 1 + r % 28, i * 7 % 60, 'a' + i % 3, r, r % 256, i + 10,
        r % 256, i + 10);
    for (int d = 0; d < 2; d++)
        buf_printf(b,
            "<item><deviceName>/dev/xvd%c</deviceName><ebs><volumeId>vol-%017x</volumeId>"
            "<status>attached</status><attachTime>2024-03-01T10:00:%02d.000Z</attachTime>"
            "<deleteOnTermination>true</deleteOnTermination></ebs></item>", 'a' + d, n * 2 + d, d);
    buf_printf(b,
        "</blockDeviceMapping><virtualizationType>hvm</virtualizationType>"
        "<clientToken>token-%d</clientToken><tagSet>", n);
    static const char *tags[5][2] = { { "Name", "web-%d" }, { "env", "production" },
                                      { "team", "platform & infra" }, { "cost-center", "cc-%d" },
                                      { "stackstate-environment", "prod" } };
    for (int t = 0; t < 5; t++) {
        buf_printf(b, "<item><key>%s</key><value>", tags[t][0]);
        if (strstr(tags[t][1], "&")) buf_puts(b, "platform &amp; infra");
        else buf_printf(b, tags[t][1], n);
        buf_puts(b, "</value></item>");
    }
    buf_printf(b,
        "</tagSet><hypervisor>xen</hypervisor><networkInterfaceSet><item>"
        "<networkInterfaceId>eni-%017x</networkInterfaceId><subnetId>subnet-%08x</subnetId>"
        "<vpcId>vpc-0a1b2c3d</vpcId><description>Primary network interface</description>"
        "<ownerId>123456789012</ownerId><status>in-use</status><macAddress>02:9c:%02x:%02x:aa:01</macAddress>"
        "<privateIpAddress>10.0.%d.%d</privateIpAddress><sourceDestCheck>true</sourceDestCheck>"
        "<groupSet><item><groupId>sg-0123456789abcdef0</groupId><groupName>web</groupName></item></groupSet>"
        "<attachment><attachmentId>eni-attach-%08x</attachmentId><deviceIndex>0</deviceIndex>"
        "<status>attached</status><attachTime>2024-03-01T10:00:00.000Z</attachTime>"
        "<deleteOnTermination>true</deleteOnTermination><networkCardIndex>0</networkCardIndex></attachment>"
        "<association><publicIp>54.1.%d.%d</publicIp><ipOwnerId>amazon</ipOwnerId></association>"
        "<privateIpAddressesSet><item><privateIpAddress>10.0.%d.%d</privateIpAddress><primary>true</primary>"
        "<association><publicIp>54.1.%d.%d</publicIp><ipOwnerId>amazon</ipOwnerId></association></item>"
        "<item><privateIpAddress>10.0.%d.%d</privateIpAddress><primary>false</primary></item>"
        "</privateIpAddressesSet><ipv6AddressesSet/><interfaceType>interface</interfaceType></item>"
        "</networkInterfaceSet><ebsOptimized>false</ebsOptimized><enaSupport>true</enaSupport>"
        "<cpuOptions><coreCount>1</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions>"
        "<capacityReservationSpecification><capacityReservationPreference>open</capacityReservationPreference>"
        "</capacityReservationSpecification><hibernationOptions><configured>false</configured></hibernationOptions>"
        "<metadataOptions><state>applied</state><httpTokens>required</httpTokens>"
        "<httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions>"
        "<enclaveOptions><enabled>false</enabled></enclaveOptions><platformDetails>Linux/UNIX</platformDetails>"
        "<usageOperation>RunInstances</usageOperation>"
        "<usageOperationUpdateTime>2024-03-01T10:00:00.000Z</usageOperationUpdateTime>"
        "<maintenanceOptions><autoRecovery>default</autoRecovery></maintenanceOptions>"
        "<currentInstanceBootMode>legacy-bios</currentInstanceBootMode></item>",
        n, r, r % 256, i, r % 256, i + 10, n, r % 256, i + 10, r % 256, i + 10, r % 256, i + 10,
        r % 256, i + 100);
}

static void gen_describe_instances(buf *b)
{
    buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
                "<requestId>8f7724cf-496f-496e-8fe3-example</requestId><reservationSet>");
    for (int r = 0; r < RESERVATIONS; r++) {
        buf_printf(b, "<item><reservationId>r-%017x</reservationId><ownerId>123456789012</ownerId>"
                      "<groupSet/><instancesSet>", r);
        for (int i = 0; i < PER_RESERVATION; i++) gen_instance(b, r, i);
        buf_puts(b, "</instancesSet></item>\n");
    }
    buf_puts(b, "</reservationSet><nextToken>eyJ2IjoiMiIsImMiOiJ</nextToken></DescribeInstancesResponse>\n");
}

static void gen_list_functions(buf *b)
{
    buf_puts(b, "{\"Functions\":[");
    for (int f = 0; f < FUNCTIONS; f++) {
        buf_printf(b,
            "%s{\"FunctionName\":\"orders-service-%d\","
            "\"FunctionArn\":\"arn:aws:lambda:eu-west-1:123456789012:function:orders-service-%d\","
            "\"Runtime\":\"python3.12\",\"Role\":\"arn:aws:iam::123456789012:role/service-role/orders-%d\","
            "\"Handler\":\"app.handler\",\"CodeSize\":%d,\"Description\":\"Handles orders \\u2014 shard %d\","
            "\"Timeout\":30,\"MemorySize\":512,\"LastModified\":\"2024-03-%02dT10:11:12.000+0000\","
            "\"CodeSha256\":\"p3kTHs8HJSwoEdxGz0I1mA0Qc6LgJgkL9tSPb6PjmQk=\",\"Version\":\"$LATEST\","
            "\"VpcConfig\":{\"SubnetIds\":[\"subnet-0a1b2c3d\",\"subnet-0e1f2a3b\"],"
            "\"SecurityGroupIds\":[\"sg-0123456789abcdef0\"],\"VpcId\":\"vpc-0a1b2c3d\","
            "\"Ipv6AllowedForDualStack\":false},"
            "\"Environment\":{\"Variables\":{\"TABLE\":\"orders-%d\",\"LOG_LEVEL\":\"info\",\"STAGE\":\"prod\"}},"
            "\"TracingConfig\":{\"Mode\":\"PassThrough\"},\"RevisionId\":\"8f2c1e6a-%08x-4c4b-9d7e-2b8c3e2f1a00\","
            "\"Layers\":[{\"Arn\":\"arn:aws:lambda:eu-west-1:123456789012:layer:common:7\",\"CodeSize\":1048576}],"
            "\"PackageType\":\"Zip\",\"Architectures\":[\"arm64\"],\"EphemeralStorage\":{\"Size\":512},"
            "\"SnapStart\":{\"ApplyOn\":\"None\",\"OptimizationStatus\":\"Off\"},"
            "\"LoggingConfig\":{\"LogFormat\":\"Text\",\"LogGroup\":\"/aws/lambda/orders-service-%d\"}}",
            f ? "," : "", f, f, f, 1000 + f * 13, f, 1 + f % 28, f, f, f);
    }
    buf_puts(b, "],\"NextMarker\":\"orders-service-5000\"}");
}

static void gen_scan(buf *b)
{
    buf_puts(b, "{\"Items\":[");
    for (int i = 0; i < SCAN_ITEMS; i++) {
        buf_printf(b,
            "%s{\"pk\":{\"S\":\"CUSTOMER#%d\"},\"sk\":{\"S\":\"ORDER#2024-03-%02d#%06d\"},"
            "\"amount\":{\"N\":\"%d.%02d\"},\"paid\":{\"BOOL\":%s},\"note\":{\"NULL\":true},"
            "\"tags\":{\"SS\":[\"express\",\"gift\"]},"
            "\"address\":{\"M\":{\"street\":{\"S\":\"%d Main St\"},\"city\":{\"S\":\"Amsterdam\"},"
            "\"zip\":{\"S\":\"10%02dAB\"}}},"
            "\"lines\":{\"L\":[{\"M\":{\"sku\":{\"S\":\"SKU-%d\"},\"qty\":{\"N\":\"2\"}}},"
            "{\"M\":{\"sku\":{\"S\":\"SKU-%d\"},\"qty\":{\"N\":\"1\"}}}]}}",
            i ? "," : "", i % 977, 1 + i % 28, i, i % 500, i % 100, i % 3 ? "true" : "false", i, i % 100,
            i * 3, i * 3 + 1);
    }
    buf_puts(b, "],\"Count\":5000,\"ScannedCount\":5000,"
                "\"LastEvaluatedKey\":{\"pk\":{\"S\":\"CUSTOMER#1\"},\"sk\":{\"S\":\"ORDER#x\"}}}");
}

/* ---- baselines ---- */

static long xml_elements;

static void XMLCALL noop_start(void *ud, const XML_Char *n, const XML_Char **a)
{
    (void)ud, (void)n, (void)a;
    xml_elements++;
}

static void XMLCALL noop_end(void *ud, const XML_Char *n)
{
    (void)ud, (void)n;
}

static void XMLCALL noop_text(void *ud, const XML_Char *s, int len)
{
    (void)ud, (void)s, (void)len;
}

static int raw_expat(const buf *b)
{
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetElementHandler(p, noop_start, noop_end);
    XML_SetCharacterDataHandler(p, noop_text);
    int ok = 1;                       /* 64 KB slices, as parse_xml.c feeds it */
    size_t off = 0;
    while (ok && b->len - off > 65536) {
        ok = XML_Parse(p, b->data + off, 65536, 0) != XML_STATUS_ERROR;
        off += 65536;
    }
    ok = ok && XML_Parse(p, b->data + off, (int)(b->len - off), 1) != XML_STATUS_ERROR;
    XML_ParserFree(p);
    return ok;
}

static int scan_start(void *ud, const char *n, size_t len, const xml_attr *a, size_t na)
{
    (void)ud, (void)n, (void)len, (void)a, (void)na;
    return 0;
}

static int scan_text(void *ud, const char *s, size_t len)
{
    (void)ud, (void)s, (void)len;
    return 0;
}

static int scan_end(void *ud, const char *n, size_t len)
{
    (void)ud, (void)n, (void)len;
    return 0;
}

static int raw_xml_scan(const buf *b)
{
    static const xml_events events = {scan_start, scan_text, scan_end};
    xml_scanner s = {0};
    int ok = xml_scan(&s, b->data, b->len, &events, NULL) == XML_DONE;
    xml_scan_free(&s);
    return ok;
}

static long count_json(const cJSON *j)
{
    long n = 1;
    for (const cJSON *c = j->child; c; c = c->next) n += count_json(c);
    return n;
}

static int raw_cjson(const buf *b)
{
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);
    cJSON_Delete(j);
    return j != NULL;
}

/* ---- timing ---- */

typedef struct input {
    const char *title;
    buf body;
    long values;          /* XML elements / JSON values in the page */
    long items;           /* resources in the page */
    const char *item_name;
} input;

static void row(const input *in, const char *parser, double secs)
{
    double mb = (double)in->body.len / 1e6;
    printf("  %-30s %8.1f ms %8.1f MB/s %7.2f M values/s %9.0f %s/s\n", parser, secs * 1e3, mb / secs,
           (double)in->values / secs / 1e6, (double)in->items / secs, in->item_name);
}

/* Best of ROUNDS; the Lua garbage is collected between rounds, outside the clock. */
static double time_raw(int (*fn)(const buf *), const buf *b)
{
    double best = 1e9;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        if (!fn(b)) return -1;
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

static double time_parse(lua_State *L, const aws_model *m, const operation *op, const http_response *resp)
{
    double best = 1e9;
    char err[512];
    for (int r = 0; r < ROUNDS; r++) {
        lua_settop(L, 0);
        lua_gc(L, LUA_GCCOLLECT, 0);
        double t0 = now();
        if (protocol_parse(L, m, op, resp, err, sizeof err) < 0) {
            fprintf(stderr, "protocol_parse: %s\n", err);
            return -1;
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

static double time_luajson(lua_State *L, const buf *b)
{
    double best = 1e9;
    char err[256];
    for (int r = 0; r < ROUNDS; r++) {
        lua_settop(L, 0);
        lua_gc(L, LUA_GCCOLLECT, 0);
        double t0 = now();
        if (luajson_decode(L, b->data, b->len, 0, err, sizeof err) < 0) return -1;
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

/* Counts the items of list `key` in the result on the stack top (a sanity check). */
static long result_count(lua_State *L, const char *key, const char *inner)
{
    lua_getfield(L, -1, key);
    long n = 0;
    if (!inner) {
        n = (long)lua_rawlen(L, -1);
    } else {
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            lua_getfield(L, -1, inner);
            n += (long)lua_rawlen(L, -1);
            lua_pop(L, 2);
        }
    }
    lua_pop(L, 1);
    return n;
}

static int bench_one(model_registry *reg, lua_State *L, input *in, const char *service, const char *opname,
                     int json, const char *list, const char *inner)
{
    char err[512];
    const aws_model *m = model_registry_get(reg, service, err, sizeof err);
    const operation *op = m ? model_operation(m, opname) : NULL;
    if (!op) {
        fprintf(stderr, "%s %s: %s\n", service, opname, m ? "no such operation in this model" : err);
        return -1;
    }
    http_response resp;
    response_init(&resp);
    resp.status = 200;
    buf_append(&resp.body, in->body.data, in->body.len);
    printf("\n%s: %.1f MB, %ld %s, %ld values\n", in->title, (double)in->body.len / 1e6, in->items,
           in->item_name, in->values);
    if (json) {
        row(in, "cJSON_Parse (no result)", time_raw(raw_cjson, &in->body));
        row(in, "luajson_decode (no shape)", time_luajson(L, &in->body));
    } else {
        row(in, "xml_scan, no-op handlers", time_raw(raw_xml_scan, &in->body));
        row(in, "expat, no-op handlers", time_raw(raw_expat, &in->body));
    }
    double t = time_parse(L, m, op, &resp);
    if (t > 0) {
        row(in, "protocol_parse -> Lua", t);
        long got = result_count(L, list, inner);
        if (got != in->items) printf("  (sanity: parsed %ld %s, expected %ld)\n", got, in->item_name, in->items);
    }
    response_free(&resp);
    return 0;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";   /* "ec2", "lambda" or "dynamodb": run just that page */
    const char *path = getenv("AWSTOPO_MODEL_PATH");
    char search[1024];
    snprintf(search, sizeof search, "%s%s../shared/aws-models:models", path ? path : "", path ? ":" : "");
    model_registry *reg = model_registry_new(search);
    lua_State *L = luaL_newstate();

    input xml = { .title = "EC2 DescribeInstances (XML)", .items = RESERVATIONS * PER_RESERVATION,
                  .item_name = "instances" };
    gen_describe_instances(&xml.body);
    xml_elements = 0;
    raw_expat(&xml.body);
    xml.values = xml_elements;

    input fn = { .title = "Lambda ListFunctions (JSON)", .items = FUNCTIONS, .item_name = "functions" };
    gen_list_functions(&fn.body);
    input scan = { .title = "DynamoDB Scan (JSON)", .items = SCAN_ITEMS, .item_name = "items" };
    gen_scan(&scan.body);
    input *jsons[] = { &fn, &scan };
    for (int i = 0; i < 2; i++) {
        cJSON *j = cJSON_ParseWithLength(jsons[i]->body.data, jsons[i]->body.len);
        jsons[i]->values = j ? count_json(j) : 0;
        cJSON_Delete(j);
    }

    printf("CPU time, best of %d rounds each\n", ROUNDS);
    if (!*only || strcmp(only, "ec2") == 0)
        bench_one(reg, L, &xml, "ec2", "DescribeInstances", 0, "Reservations", "Instances");
    if (!*only || strcmp(only, "lambda") == 0)
        bench_one(reg, L, &fn, "lambda", "ListFunctions", 1, "Functions", NULL);
    if (!*only || strcmp(only, "dynamodb") == 0)
        bench_one(reg, L, &scan, "dynamodb", "Scan", 1, "Items", NULL);

    buf_free(&xml.body);
    buf_free(&fn.body);
    buf_free(&scan.body);
    lua_close(L);
    model_registry_free(reg);
    return 0;
}
