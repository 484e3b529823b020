/* test_events.c -- reading AWS events in every form (events.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "events.h"
#include "testlib.h"

#define RECORD(name, time) \
    "{\"eventVersion\":\"1.09\",\"eventTime\":\"" time "\",\"eventSource\":\"sqs.amazonaws.com\"," \
    "\"eventName\":\"" name "\",\"awsRegion\":\"eu-west-1\",\"recipientAccountId\":\"111122223333\"," \
    "\"requestParameters\":{\"queueUrl\":\"q\"}}"

#define ENVELOPE(record) \
    "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.sqs\"," \
    "\"account\":\"111122223333\",\"time\":\"2024-01-01T00:00:00Z\",\"region\":\"eu-west-1\",\"detail\":" record "}"

static size_t parse(const char *text, event_list *l, strlist *problems)
{
    return events_parse("in.json", text, strlen(text), l, problems);
}

static void forms(void)
{
    event_list l = {0};
    strlist p = {0};
    CHECK(parse(RECORD("TagQueue", "2024-01-01T00:00:02Z"), &l, &p) == 0, "a bare record");
    CHECK(l.len == 1, "one event");
    CHECK_STR(l.items[0].source, "sqs");
    CHECK_STR(l.items[0].name, "TagQueue");
    CHECK_STR(l.items[0].account, "111122223333");
    CHECK_STR(l.items[0].region, "eu-west-1");
    CHECK_STR(l.items[0].origin, "in.json record 1");
    CHECK(l.items[0].error_code == NULL, "no errorCode");
    event_list_free(&l);

    CHECK(parse("{\"Records\":[" RECORD("A", "t2") "," RECORD("B", "t1") "]}", &l, &p) == 0, "a log file");
    CHECK(l.len == 2 && strcmp(l.items[1].name, "B") == 0, "its records in order");
    CHECK_STR(l.items[1].origin, "in.json record 1 Records[1]");
    event_list_free(&l);

    /* Firehose: envelopes back to back, no delimiter */
    CHECK(parse(ENVELOPE(RECORD("A", "t1")) ENVELOPE(RECORD("B", "t2")) "\n" ENVELOPE(RECORD("C", "t3")), &l, &p) == 0,
          "concatenated envelopes");
    CHECK(l.len == 3 && strcmp(l.items[2].name, "C") == 0, "all three");
    CHECK(strncmp(l.items[0].json, "{\"eventVersion\"", 15) == 0, "the handler gets the CloudTrail record");
    event_list_free(&l);

    /* the envelope supplies what the record lacks */
    CHECK(parse(ENVELOPE("{\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"X\",\"errorCode\":\"Denied\"}"), &l, &p)
              == 0, "minimal record");
    CHECK_STR(l.items[0].account, "111122223333");
    CHECK_STR(l.items[0].region, "eu-west-1");
    CHECK_STR(l.items[0].time, "2024-01-01T00:00:00Z");
    CHECK_STR(l.items[0].error_code, "Denied");
    event_list_free(&l);

    /* EventBridge's own events are kept whole, named by detail-type */
    CHECK(parse("{\"version\":\"0\",\"detail-type\":\"EC2 Instance State-change Notification\",\"source\":\"aws.ec2\","
                "\"account\":\"1\",\"region\":\"r\",\"time\":\"t\",\"detail\":{\"instance-id\":\"i-1\",\"state\":\"terminated\"}}",
                &l, &p) == 0, "native event");
    CHECK_STR(l.items[0].source, "ec2");
    CHECK_STR(l.items[0].name, "EC2 Instance State-change Notification");
    CHECK(strstr(l.items[0].json, "\"detail-type\"") != NULL, "the whole event");
    event_list_free(&l);

    /* ELB: apiVersion kept */
    CHECK(parse("[{\"eventSource\":\"elasticloadbalancing.amazonaws.com\",\"eventName\":\"X\",\"apiVersion\":\"2015-12-01\"}]",
                &l, &p) == 0, "an array");
    CHECK_STR(l.items[0].api_version, "2015-12-01");
    CHECK_STR(l.items[0].origin, "in.json record 1[0]");
    event_list_free(&l);
    CHECK(p.len == 0, "no problems so far");
    strlist_free(&p);
}

static void malformed(void)
{
    event_list l = {0};
    strlist p = {0};
    const char *text = ENVELOPE(RECORD("A", "t1")) "{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"deta"
                       ENVELOPE(RECORD("C", "t3")) "{\"no\":\"event\"}" "[1]" ENVELOPE("{\"eventName\":\"D\"}");
    CHECK(parse(text, &l, &p) == 4, "four problems, got %zu", p.len);
    CHECK(l.len == 2 && strcmp(l.items[0].name, "A") == 0 && strcmp(l.items[1].name, "C") == 0,
          "the good events around a cut one still come");
    CHECK(p.len == 4 && strncmp(p.items[0], "in.json record 2: not valid JSON", 32) == 0, "%s", p.len ? p.items[0] : "");
    CHECK(p.len == 4 && strstr(p.items[1], "record 4: a CloudTrail record without") != NULL, "%s", p.len > 1 ? p.items[1] : "");
    CHECK(p.len == 4 && strstr(p.items[2], "record 5[0]: not a JSON object") != NULL, "%s", p.len > 2 ? p.items[2] : "");
    CHECK(p.len == 4 && strstr(p.items[3], "record 6: a CloudTrail record without") != NULL, "%s", p.len > 3 ? p.items[3] : "");
    event_list_free(&l);
    strlist_free(&p);
}

static void sorting(void)
{
    event_list l = {0};
    strlist p = {0};
    parse("{\"Records\":[" RECORD("c", "2024-01-01T00:00:03Z") "," RECORD("a1", "2024-01-01T00:00:01Z") ","
          RECORD("b", "2024-01-01T00:00:02Z") "," RECORD("a2", "2024-01-01T00:00:01Z") "," RECORD("a3",
          "2024-01-01T00:00:01Z") "]}", &l, &p);
    event_list_sort(&l);
    const char *want[] = { "a1", "a2", "a3", "b", "c" };
    for (size_t i = 0; i < 5; i++) CHECK(i < l.len && strcmp(l.items[i].name, want[i]) == 0, "sorted %zu", i);
    event_list_free(&l);
    strlist_free(&p);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static void gzip_inputs(void)
{
    char dir[] = "/tmp/test-events-XXXXXX";
    if (!mkdtemp(dir)) return;
    char path[256];
    const char *plain = ENVELOPE(RECORD("A", "t1")) ENVELOPE(RECORD("B", "t2"));
    /* two gzip members, as concatenated .gz files are */
    snprintf(path, sizeof path, "%s/two.gz", dir);
    gzFile gz = gzopen(path, "wb");
    gzwrite(gz, plain, (unsigned)strlen(plain) / 2);
    gzclose(gz);
    gz = gzopen(path, "ab");
    gzwrite(gz, plain + strlen(plain) / 2, (unsigned)(strlen(plain) - strlen(plain) / 2));
    gzclose(gz);
    char err[512];
    size_t len = 0;
    char *text = events_read_input(path, &len, err, sizeof err);
    CHECK(text && len == strlen(plain) && memcmp(text, plain, len) == 0, "two members read whole: %s", text ? "" : err);
    free(text);

    snprintf(path, sizeof path, "%s/cut.gz", dir);
    char whole[4096];
    snprintf(whole, sizeof whole, "%s/two.gz", dir);
    FILE *in = fopen(whole, "rb");
    size_t n = fread(whole, 1, sizeof whole, in);
    fclose(in);
    write_file(path, whole, n - 10);
    text = events_read_input(path, &len, err, sizeof err);
    CHECK(!text && strstr(err, "cut.gz: cannot read it (not a complete gzip stream"), "%s", err);
    free(text);

    snprintf(path, sizeof path, "%s/plain.json", dir);
    write_file(path, plain, strlen(plain));
    text = events_read_input(path, &len, err, sizeof err);
    CHECK(text && len == strlen(plain), "plain read as it is");
    free(text);

    snprintf(path, sizeof path, "%s/none.json", dir);
    text = events_read_input(path, &len, err, sizeof err);
    CHECK(!text && strstr(err, "none.json: cannot read it (No such file"), "%s", err);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
}

int main(void)
{
    forms();
    malformed();
    sorting();
    gzip_inputs();
    return test_summary();
}
