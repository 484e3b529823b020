/* test_kinesis.c -- the Kinesis record format and partition keys (kinesis.c). */
#include <stdlib.h>
#include <string.h>

#include "kinesis.h"
#include "testlib.h"

static void partition_keys(void)
{
    char key[KINESIS_MAX_KEY + 1];
    kinesis_partition_key("arn:aws:sqs:eu-west-1:123456789012:orders", key);
    CHECK_STR(key, "arn:aws:sqs:eu-west-1:123456789012:orders");
    char long_id[600];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    kinesis_partition_key(long_id, key);
    CHECK(strncmp(key, "sha256:", 7) == 0 && strlen(key) == 7 + 64, "a long id is hashed: %s", key);
    char again[KINESIS_MAX_KEY + 1];
    kinesis_partition_key(long_id, again);
    CHECK_STR(key, again);
}

static void records(void)
{
    char *c = kinesis_record_encode("prod", TOPO_COMPONENT, "id-1", "{\"externalId\":\"id-1\",\"data\":{\"v\":2}}", 7);
    CHECK_STR(c, "{\"awstopo\":1,\"instance\":\"prod\",\"kind\":\"component\",\"id\":\"id-1\","
                 "\"item\":{\"externalId\":\"id-1\",\"data\":{\"v\":2}},\"time\":7}");
    char *d = kinesis_record_encode("prod", TOPO_DELETE, "id-1", NULL, 5);
    CHECK_STR(d, "{\"awstopo\":1,\"instance\":\"prod\",\"kind\":\"delete\",\"id\":\"id-1\",\"time\":5}");

    topology t;
    topology_init(&t);
    char err[256];
    /* newest first: the component (newer) wins over the delete (older) */
    CHECK(kinesis_record_apply(&t, c, strlen(c), err, sizeof err) == 0, "%s", err);
    CHECK(kinesis_record_apply(&t, d, strlen(d), err, sizeof err) == 0, "%s", err);
    CHECK(t.components.len == 1 && t.deletes.len == 0, "the newest item of an id stays");
    const char *bad[] = { "nope", "{\"kind\":\"component\",\"id\":\"x\"}",
                          "{\"awstopo\":2,\"kind\":\"delete\",\"id\":\"x\"}",
                          "{\"awstopo\":1,\"kind\":\"component\",\"id\":\"x\"}",
                          "{\"awstopo\":1,\"kind\":\"thing\",\"id\":\"x\"}" };
    const char *why[] = { "not JSON", "not an awstopo record", "record format 2", "without an item", "kind 'thing'" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        CHECK(kinesis_record_apply(&t, bad[i], strlen(bad[i]), err, sizeof err) == -1 && strstr(err, why[i]),
              "%s -> %s", bad[i], err);
    }
    CHECK(topology_count(&t) == 1, "nothing added by bad records");
    topology_free(&t);
    free(c);
    free(d);
}

int main(void)
{
    partition_keys();
    records();
    return test_summary();
}
