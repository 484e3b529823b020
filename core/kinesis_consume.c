/* kinesis_consume.c -- the consumer (see kinesis.h): shards, iterators,
 * checkpoints.
 *
 * A checkpoint is a file per shard in the checkpoint directory holding the
 * sequence number of the last record whose update was accepted, or
 * "SHARD_END" once a closed shard was read to its end. It is replaced
 * atomically (write, fsync, rename, fsync the directory), and only after the
 * deliver function accepted the update: a crash at any moment loses nothing,
 * at worst an update is delivered twice (at least once).
 *
 * After a reshard (SplitShard, MergeShards) the parents are closed and their
 * children take the new records. A child is read only once its parents
 * (ParentShardId, AdjacentParentShardId) are finished or gone, so the updates
 * of one partition key arrive in order across the reshard.
 */
#include "kinesis.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "aws_json.h"
#include "buf.h"
#include "intake.h"
#include "util.h"

#define SHARD_END "SHARD_END"

typedef struct shard {
    char *id, *parent, *adjacent;
    char *checkpoint;      /* last accepted sequence number, SHARD_END, or NULL */
    char *iterator;        /* where the next GetRecords starts, or NULL */
    int listed;
} shard;

typedef struct shard_set {
    shard *items;
    size_t len, cap;
} shard_set;

/* ---- checkpoints ---- */

static char *checkpoint_path(const char *dir, const char *shard_id)
{
    buf p = {0};
    buf_printf(&p, "%s/%s", dir, shard_id);
    return buf_steal(&p);
}

static char *checkpoint_load(const char *dir, const char *shard_id)
{
    char *path = checkpoint_path(dir, shard_id);
    buf b = {0};
    char *out = NULL;
    if (read_file(path, &b, 0) == 0) {
        while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' ')) b.data[--b.len] = '\0';
        if (b.len) out = xstrdup(b.data);
    }
    buf_free(&b);
    free(path);
    return out;
}

static int checkpoint_save(const char *dir, const char *shard_id, const char *value, char *err, size_t errlen)
{
    char *path = checkpoint_path(dir, shard_id);
    buf tmp = {0};
    buf_printf(&tmp, "%s.tmp", path);
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0;
    if (ok) {
        buf line = {0};
        buf_printf(&line, "%s\n", value);
        ok = write(fd, line.data, line.len) == (ssize_t)line.len && fsync(fd) == 0;
        buf_free(&line);
        ok = close(fd) == 0 && ok;
    }
    ok = ok && rename(tmp.data, path) == 0;
    if (ok) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    int rc = ok ? 0 : set_err(err, errlen, "checkpoint %s: %s", path, strerror(errno));
    buf_free(&tmp);
    free(path);
    return rc;
}

/* ---- shards ---- */

static shard *shard_find(shard_set *s, const char *id)
{
    for (size_t i = 0; i < s->len; i++)
        if (strcmp(s->items[i].id, id) == 0) return &s->items[i];
    return NULL;
}

static void shard_set_free(shard_set *s)
{
    for (size_t i = 0; i < s->len; i++) {
        free(s->items[i].id);
        free(s->items[i].parent);
        free(s->items[i].adjacent);
        free(s->items[i].checkpoint);
        free(s->items[i].iterator);
    }
    free(s->items);
    *s = (shard_set){0};
}

static char *str_or_null(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s && *s ? xstrdup(s) : NULL;
}

/* ListShards, every page; adds new shards (their checkpoints loaded) and
 * marks the listed ones. */
static int list_shards(const consume_options *o, shard_set *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->len; i++) s->items[i].listed = 0;
    char *token = NULL;
    do {
        cJSON *params = cJSON_CreateObject();
        if (token) cJSON_AddStringToObject(params, "NextToken", token);   /* not with StreamName */
        else cJSON_AddStringToObject(params, "StreamName", o->stream.name);
        char *text = cJSON_PrintUnformatted(params);
        cJSON_Delete(params);
        aws_call_error e;
        char *resp = aws_call_json(o->stream.client, o->stream.models, "kinesis", "ListShards", text,
                                   o->stream.region, &e);
        cJSON_free(text);
        free(token);
        token = NULL;
        if (!resp) return set_err(err, errlen, "kinesis ListShards %s: %s: %s", o->stream.name, e.code, e.message);
        cJSON *doc = cJSON_Parse(resp);
        free(resp);
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "Shards")) {
            char *id = str_or_null(item, "ShardId");
            if (!id) continue;
            shard *sh = shard_find(s, id);
            if (!sh) {
                if (s->len == s->cap) {
                    s->cap = s->cap ? s->cap * 2 : 8;
                    s->items = xrealloc(s->items, s->cap * sizeof *s->items);
                }
                sh = &s->items[s->len++];
                *sh = (shard){ .id = xstrdup(id), .parent = str_or_null(item, "ParentShardId"),
                               .adjacent = str_or_null(item, "AdjacentParentShardId"),
                               .checkpoint = checkpoint_load(o->checkpoint_dir, id) };
            }
            sh->listed = 1;
            free(id);
        }
        token = str_or_null(doc, "NextToken");
        cJSON_Delete(doc);
    } while (token);
    return 0;
}

static int finished(const shard *sh) { return sh->checkpoint && strcmp(sh->checkpoint, SHARD_END) == 0; }

/* A parent that is finished, or no longer listed (trimmed), does not hold its child back. */
static int parent_done(shard_set *s, const char *id)
{
    if (!id) return 1;
    shard *p = shard_find(s, id);
    return !p || !p->listed || finished(p);
}

static int get_iterator(const consume_options *o, shard *sh, char *err, size_t errlen)
{
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "StreamName", o->stream.name);
    cJSON_AddStringToObject(params, "ShardId", sh->id);
    if (sh->checkpoint) {
        cJSON_AddStringToObject(params, "ShardIteratorType", "AFTER_SEQUENCE_NUMBER");
        cJSON_AddStringToObject(params, "StartingSequenceNumber", sh->checkpoint);
    } else {
        cJSON_AddStringToObject(params, "ShardIteratorType", "TRIM_HORIZON");
    }
    char *text = cJSON_PrintUnformatted(params);
    cJSON_Delete(params);
    aws_call_error e;
    char *resp = aws_call_json(o->stream.client, o->stream.models, "kinesis", "GetShardIterator", text,
                               o->stream.region, &e);
    cJSON_free(text);
    if (!resp) return set_err(err, errlen, "kinesis GetShardIterator %s: %s: %s", sh->id, e.code, e.message);
    cJSON *doc = cJSON_Parse(resp);
    free(resp);
    free(sh->iterator);
    sh->iterator = str_or_null(doc, "ShardIterator");
    cJSON_Delete(doc);
    return 0;
}

char *kinesis_base64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    unsigned char *out = xmalloc(n / 4 * 3 + 4);
    int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (got < 0) {
        free(out);
        return NULL;
    }
    size_t pad = n >= 2 && s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    *len = (size_t)got - pad;
    out[*len] = '\0';
    return (char *)out;
}

enum { READ_EMPTY, READ_DELIVERED, READ_REFUSED, READ_ERROR };

/* One GetRecords on a shard and what follows: deliver, checkpoint, the end
 * of a closed shard. *caught_up: nothing more to read there for now. */
static int read_shard(const consume_options *o, shard *sh, consume_stats *st, int *caught_up, char *err,
                      size_t errlen)
{
    *caught_up = 0;
    if (!sh->iterator && get_iterator(o, sh, err, errlen) < 0) return READ_ERROR;
    if (!sh->iterator) {   /* no iterator for a closed shard read to its end */
        free(sh->checkpoint);
        sh->checkpoint = xstrdup(SHARD_END);
        return checkpoint_save(o->checkpoint_dir, sh->id, SHARD_END, err, errlen) < 0 ? READ_ERROR : READ_EMPTY;
    }
    buf params = {0};
    buf_puts(&params, "{\"ShardIterator\":");
    intake_json_string(&params, sh->iterator, strlen(sh->iterator));
    buf_printf(&params, ",\"Limit\":%d}", o->limit > 0 ? o->limit : 1000);
    aws_call_error e;
    char *resp = aws_call_json(o->stream.client, o->stream.models, "kinesis", "GetRecords", params.data,
                               o->stream.region, &e);
    buf_free(&params);
    if (!resp) {
        free(sh->iterator);
        sh->iterator = NULL;
        if (strcmp(e.code, "ExpiredIteratorException") == 0) {   /* renewed from the checkpoint next time */
            st->expired_iterators++;
            return READ_EMPTY;
        }
        set_err(err, errlen, "kinesis GetRecords %s: %s: %s", sh->id, e.code, e.message);
        return READ_ERROR;
    }
    cJSON *doc = cJSON_Parse(resp);
    free(resp);
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(doc, "Records");
    int n = cJSON_GetArraySize(records);
    const char *last_seq = NULL;
    topology t;
    topology_init(&t);
    for (int i = n - 1; i >= 0; i--) {   /* newest first: the newest item of an id wins */
        const cJSON *r = cJSON_GetArrayItem(records, i);
        const char *seq = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "SequenceNumber"));
        const char *data = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "Data"));
        if (!last_seq) last_seq = seq;
        size_t len = 0;
        char *bytes = data ? kinesis_base64_decode(data, &len) : NULL;
        char why[256];
        if (!bytes || kinesis_record_apply(&t, bytes, len, why, sizeof why) < 0) {
            st->bad_records++;
            fprintf(stderr, "awstopo: kinesis %s shard %s record %s: %s (skipped)\n", o->stream.name, sh->id,
                    seq ? seq : "?", bytes ? why : "data is not base64");
        }
        free(bytes);
    }
    st->records += (size_t)n;
    int rc = n ? READ_DELIVERED : READ_EMPTY;
    if (topology_count(&t)) {
        if (o->deliver(o->ud, &t) != 0) {
            st->refused++;
            rc = READ_REFUSED;
        } else {
            st->delivered++;
        }
    }
    topology_free(&t);
    if (rc != READ_REFUSED) {
        char *next = str_or_null(doc, "NextShardIterator");
        const cJSON *behind = cJSON_GetObjectItemCaseSensitive(doc, "MillisBehindLatest");
        if (last_seq) {
            free(sh->checkpoint);
            sh->checkpoint = xstrdup(last_seq);
            if (checkpoint_save(o->checkpoint_dir, sh->id, last_seq, err, errlen) < 0) rc = READ_ERROR;
        }
        free(sh->iterator);
        sh->iterator = next;
        if (!next && rc != READ_ERROR) {   /* a closed shard, read to its end */
            free(sh->checkpoint);
            sh->checkpoint = xstrdup(SHARD_END);
            st->shards_finished++;
            if (checkpoint_save(o->checkpoint_dir, sh->id, SHARD_END, err, errlen) < 0) rc = READ_ERROR;
        }
        *caught_up = n == 0 && (!cJSON_IsNumber(behind) || behind->valuedouble == 0);
        if (cJSON_IsNumber(behind) && (long long)behind->valuedouble > st->millis_behind)
            st->millis_behind = (long long)behind->valuedouble;
    } else {
        free(sh->iterator);   /* read again from the checkpoint */
        sh->iterator = NULL;
    }
    cJSON_Delete(doc);
    return rc;
}

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);   /* a signal cuts it short: the loop looks at *stop */
}

int kinesis_consume(const consume_options *o, consume_stats *st, char *err, size_t errlen)
{
    if (mkdir(o->checkpoint_dir, 0700) < 0 && errno != EEXIST)
        return set_err(err, errlen, "checkpoint directory %s: %s", o->checkpoint_dir, strerror(errno));
    shard_set shards = {0};
    int rc = 0;
    long poll = o->poll_ms > 0 ? o->poll_ms : 1000;
    while (!(o->stop && *o->stop)) {
        if (list_shards(o, &shards, err, errlen) < 0) {
            rc = -1;
            break;
        }
        int all_caught_up = 1, refused = 0, progress = 0;
        st->millis_behind = 0;
        for (size_t i = 0; i < shards.len && !(o->stop && *o->stop); i++) {
            shard *sh = &shards.items[i];
            if (!sh->listed || finished(sh) || !parent_done(&shards, sh->parent) ||
                !parent_done(&shards, sh->adjacent)) {
                if (sh->listed && !finished(sh)) all_caught_up = 0;   /* a child waiting for its parents */
                continue;
            }
            int caught_up = 0;
            int r = read_shard(o, sh, st, &caught_up, err, errlen);
            if (r == READ_ERROR) {
                rc = -1;
                break;
            }
            if (r == READ_REFUSED) refused = 1;
            if (r == READ_DELIVERED || finished(sh)) progress = 1;
            if (!caught_up) all_caught_up = 0;
        }
        if (rc < 0) break;
        st->rounds++;
        if (o->on_round) o->on_round(o->round_ud, st);
        if (refused) {   /* StackState did not take it: the checkpoint stays, try again later */
            if (o->once) {
                rc = 1;
                break;
            }
            pause_ms(poll);
            continue;
        }
        if (all_caught_up && !progress) {
            if (o->once) break;
            pause_ms(poll);
        }
    }
    shard_set_free(&shards);
    return rc;
}
