/* kinesis.h -- topology updates through a Kinesis stream (docs/kinesis.md).
 *
 * The producer (topo-cwevents' half) writes every item of an update as one
 * record, partition key = the item's externalId, so that the updates of one
 * resource stay in order on one shard. The consumer (topo-publisher's half)
 * reads the shards, hands the updates to a deliver function, and moves a
 * durable per-shard checkpoint only once that accepted them.
 *
 * Record format, version 1 (the record's data, UTF-8 JSON):
 *   {"awstopo": 1, "instance": "<StackPack instance>", "kind": "component" |
 *    "relation" | "delete", "id": "<externalId>", "item": {<intake object>}
 *    (not for deletes), "time": <publish time, epoch ms>}
 * A reader takes the versions it knows and reports the others.
 */
#ifndef AWSTOPO_KINESIS_H
#define AWSTOPO_KINESIS_H

#include <signal.h>
#include <stddef.h>

#include "client.h"
#include "model.h"
#include "topology.h"

#define KINESIS_RECORD_VERSION 1
#define KINESIS_MAX_RECORDS 500                 /* PutRecords: records per request */
#define KINESIS_MAX_REQUEST_BYTES (5u << 20)    /* data + partition keys per request */
#define KINESIS_MAX_RECORD_BYTES (1u << 20)     /* data + partition key of one record */
#define KINESIS_MAX_KEY 256                     /* partition key characters */

typedef struct kinesis_stream {
    aws_client *client;        /* not owned */
    model_registry *models;    /* not owned */
    const char *name;
    const char *region;        /* NULL: the client's */
} kinesis_stream;

/* ---- producer ---- */

typedef struct publish_stats {
    size_t records;            /* records written */
    size_t requests;           /* PutRecords calls */
    size_t retried;            /* records sent again after FailedRecordCount or a failed call */
    size_t throttled;          /* records refused as ProvisionedThroughputExceeded */
} publish_stats;

/* Writes every item of t as a record (batches within the limits above).
 * Only the records a response lists as failed are sent again, after a
 * backoff with jitter, up to max_attempts rounds (0 = 10). Returns 0, or -1
 * with err when some records could not be written (a record too large, or
 * attempts spent): those are named, the others are written. */
int kinesis_publish(const kinesis_stream *k, const topology *t, const char *instance, int max_attempts,
                    publish_stats *st, char *err, size_t errlen);

/* The partition key of an externalId: the id, or "sha256:<hex>" when it is
 * longer than KINESIS_MAX_KEY. out holds at least KINESIS_MAX_KEY + 1 bytes. */
void kinesis_partition_key(const char *id, char *out);

/* Encodes one record of format 1 (caller frees). */
char *kinesis_record_encode(const char *instance, topo_kind kind, const char *id, const char *item_json,
                            long long time_ms);
/* Adds the item of one record's data to t unless t already has an item of
 * that id (apply the records of a batch newest first: the newest wins).
 * Returns 0, or -1 with err for data that is not a record awstopo knows. */
int kinesis_record_apply(topology *t, const char *data, size_t len, char *err, size_t errlen);

/* A record's Data as the API gives it (base64) decoded, NUL-terminated;
 * caller frees. NULL when it is not base64. */
char *kinesis_base64_decode(const char *s, size_t *len);

/* ---- consumer ---- */

/* Receives one shard's update (records decoded, newest per id). Returns 0
 * when it was accepted (the checkpoint moves past these records), anything
 * else when not (nothing moves; the records are read again later). */
typedef int (*kinesis_deliver_fn)(void *ud, topology *t);

struct consume_stats;

typedef struct consume_options {
    kinesis_stream stream;
    const char *checkpoint_dir;   /* one file per shard; created */
    int once;                     /* drain what is there, then return */
    long poll_ms;                 /* pause when every shard is caught up; 0 = 1000 */
    int limit;                    /* GetRecords Limit; 0 = 1000 */
    kinesis_deliver_fn deliver;
    void *ud;
    volatile sig_atomic_t *stop;  /* set (by a signal handler) to stop after the current batch; may be NULL */
    int verbose;
    /* Called after every round over the shards (may be NULL): the daemon's
     * health and lag figures. */
    void (*on_round)(void *ud, const struct consume_stats *st);
    void *round_ud;
} consume_options;

typedef struct consume_stats {
    size_t records;               /* records read */
    size_t delivered;             /* updates accepted */
    size_t bad_records;           /* records that are not awstopo records (reported, skipped) */
    size_t refused;               /* deliveries not accepted */
    size_t shards_finished;       /* closed shards read to their end */
    size_t expired_iterators;     /* iterators renewed */
    size_t rounds;                /* rounds over the shards finished */
    long long millis_behind;      /* the largest MillisBehindLatest of the last round */
} consume_stats;

/* Reads the stream: ListShards; for each shard whose parents are finished
 * (a closed shard read to its end, or gone), records from the checkpoint
 * on (the oldest when there is none); deliver; checkpoint. With once,
 * returns when every shard is caught up: 0, or 1 when a delivery was
 * refused (the rest waits for the next run), -1 with err on an AWS or
 * checkpoint error. Without once, runs until *stop (0), waiting poll_ms
 * when caught up and after a refused delivery. */
int kinesis_consume(const consume_options *o, consume_stats *st, char *err, size_t errlen);

#endif
