/* test_metrics.c -- the pieces of metrics.h that need no AWS: names, the
 * OpenMetrics text, the daemon's schedule, the on-demand cache, options. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "testlib.h"

/* A series of r (its strings are r's). */
static metric_series series(metrics_result *r, const char *ns, const char *metric, const char *unit, long period)
{
    metric_series s = {0};
    s.component = metrics_result_intern(r, "arn:aws:sqs:eu-west-1:123456789012:q\"1");
    s.type = metrics_result_intern(r, "aws.sqs.queue");
    s.account = metrics_result_intern(r, "123456789012");
    s.region = metrics_result_intern(r, "eu-west-1");
    s.namespace = metrics_result_intern(r, ns);
    s.metric = metrics_result_intern(r, metric);
    s.stat = metrics_result_intern(r, "Maximum");
    s.unit = metrics_result_intern(r, unit);
    s.status = metrics_result_intern(r, "Complete");
    s.period = period;
    s.ndims = 1;
    s.dims = xcalloc(3, sizeof *s.dims);
    s.dims[0] = metrics_result_intern(r, "QueueName");
    s.dims[1] = metrics_result_intern(r, "q\"1\\");
    s.n = 2;
    s.ts = xcalloc(2, sizeof *s.ts);
    s.values = xcalloc(2, sizeof *s.values);
    s.ts[0] = 1700000000;
    s.ts[1] = 1700000300;
    s.values[0] = 1;
    s.values[1] = 0.1 + 0.2;   /* needs 17 digits */
    return s;
}

static void check_name(const char *ns, const char *metric, const char *unit, const char *want, double want_scale)
{
    metric_series s = { .namespace = (char *)ns, .metric = (char *)metric, .unit = (char *)unit };
    double scale = 0;
    char *name = metrics_openmetrics_name(&s, &scale);
    CHECK_STR(name, want);
    CHECK(scale == want_scale, "%s: scale %g", metric, scale);
    free(name);
}

static void test_names(void)
{
    check_name("AWS/SQS", "ApproximateAgeOfOldestMessage", "Seconds",
               "aws_sqs_approximate_age_of_oldest_message_seconds", 1);
    check_name("AWS/EC2", "CPUUtilization", "Percent", "aws_ec2_cpu_utilization_percent", 1);
    check_name("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Count",
               "aws_applicationelb_http_code_elb_5xx_count_value", 1);
    check_name("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "Milliseconds",
               "aws_kinesis_get_records_iterator_age_seconds", 1e-3);
    check_name("AWS/Lambda", "Duration", "Milliseconds", "aws_lambda_duration_seconds", 1e-3);
    check_name("AWS/S3", "BucketSizeBytes", "Bytes", "aws_s3_bucket_size_bytes", 1);
    check_name("AWS/ApiGateway", "5XXError", "Count", "aws_apigateway_5xx_error", 1);
    check_name("AWS/RDS", "ReadIOPS", "Count/Second", "aws_rds_read_iops_per_second", 1);
    metric_series s = { .namespace = "AWS/Firehose", .metric = "DeliveryToS3.DataFreshness" };
    char *n = metrics_intake_name(&s);
    CHECK_STR(n, "aws.firehose.delivery_to_s3_data_freshness");
    free(n);
}

static void test_openmetrics(void)
{
    metrics_result r = {0};
    r.series = xcalloc(2, sizeof *r.series);
    r.series[0] = series(&r, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Count", 300);
    r.series[1] = series(&r, "AWS/SQS", "NumberOfMessagesSent", "Count", 300);
    r.series[1].n = 0;                 /* no data: no sample */
    r.len = r.cap = 2;
    buf out = {0};
    metrics_openmetrics(&r, &out);
    CHECK(strstr(out.data, "# TYPE aws_sqs_approximate_number_of_messages_visible gauge\n") != NULL, "%s", out.data);
    CHECK(strstr(out.data, "component_id=\"arn:aws:sqs:eu-west-1:123456789012:q\\\"1\"") != NULL,
          "label values escaped: %s", out.data);
    CHECK(strstr(out.data, "dimension_queue_name=\"q\\\"1\\\\\"") != NULL, "dimension label: %s", out.data);
    CHECK(strstr(out.data, "} 0.30000000000000004 1700000300000\n") != NULL, "newest value, exact, ms: %s", out.data);
    CHECK(strstr(out.data, "number_of_messages_sent") == NULL, "a series without data has no sample");
    buf_free(&out);

    payload_list pl = {0};
    intake_options io = { .hostname = "h", .collection_timestamp = 5 };
    metrics_intake_payloads(&r, &io, 1, &pl);
    CHECK(pl.len == 2, "one datapoint a payload: %zu payloads", pl.len);
    CHECK(pl.len && strstr(pl.items[1].data, "0.30000000000000004") != NULL, "intake value exact");
    payload_list_free(&pl);
    metrics_result_free(&r);
}

static void test_intern_merge(void)
{
    metrics_result a = {0}, b = {0};
    char *x = metrics_result_intern(&a, "aws.sqs.queue");
    CHECK(x == metrics_result_intern(&a, "aws.sqs.queue"), "one copy of each string");
    char buf[32];
    for (int i = 0; i < 1000; i++) {   /* grows the pool: earlier strings stay put */
        snprintf(buf, sizeof buf, "s%d", i);
        metrics_result_intern(&a, buf);
    }
    CHECK(x == metrics_result_intern(&a, "aws.sqs.queue"), "found again after growing");
    b.series = xcalloc(1, sizeof *b.series);
    b.series[0] = series(&b, "AWS/SQS", "NumberOfMessagesSent", "Count", 300);
    b.len = b.cap = 1;
    metrics_result_merge(&a, &b);
    CHECK(a.len == 1 && b.len == 0 && b.strings == NULL, "merged: series and strings moved");
    CHECK_STR(a.series[0].metric, "NumberOfMessagesSent");
    metrics_result_free(&a);
    metrics_result_free(&b);
}

static void test_schedule(void)
{
    /* every 300 s, 600 s behind: due at :10, :15, :20 ... past the hour */
    CHECK(metrics_next_fetch(1800000000, 300, 600) == 1800000300.0, "aligned now -> next slot");
    CHECK(metrics_next_fetch(1800000001, 300, 600) == 1800000300.0, "just after a slot");
    CHECK(metrics_next_fetch(1800000299, 300, 60) == 1800000360.0, "delay shifts the slot");
    CHECK(metrics_next_fetch(1800000299, 300, 0) == 1800000300.0, "no delay");
}

static void test_cache(void)
{
    metrics_cache *c = metrics_cache_new(2);
    metrics_options o = { .component = "a", .from = 100, .to = 400 };
    CHECK(metrics_cache_get(c, &o, 1000) == NULL, "empty cache");
    metrics_result r = {0};
    r.series = xcalloc(1, sizeof *r.series);
    r.series[0] = series(&r, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Count", 300);
    r.len = r.cap = 1;
    const metrics_result *kept = metrics_cache_put(c, &o, 1000, &r);
    CHECK(r.len == 0 && kept->len == 1, "moved into the cache");
    CHECK(metrics_cache_get(c, &o, 1299) == kept, "served within the period");
    metrics_options other = { .component = "b", .from = 100, .to = 400 };
    CHECK(metrics_cache_get(c, &other, 1100) == NULL, "another component is another entry");
    strlist_add(&o.names, "X");
    CHECK(metrics_cache_get(c, &o, 1100) == NULL, "other metric names are another entry");
    strlist_free(&o.names);
    CHECK(metrics_cache_get(c, &o, 1300) == NULL, "stale once its period is over");
    metrics_result e1 = {0}, e2 = {0}, e3 = {0};
    metrics_options k1 = { .component = "1" }, k2 = { .component = "2" }, k3 = { .component = "3" };
    metrics_cache_put(c, &k1, 2000, &e1);
    metrics_cache_put(c, &k2, 2000, &e2);
    metrics_cache_put(c, &k3, 2000, &e3);
    CHECK(metrics_cache_get(c, &k1, 2001) == NULL && metrics_cache_get(c, &k3, 2001) != NULL,
          "full: the oldest is evicted");
    metrics_cache_free(c);
}

static void test_options(void)
{
    strlist items = {0}, problems = {0};
    strlist_add(&items, "interval=60");
    strlist_add(&items, "max_metrics_per_hour=1000");
    strlist_add(&items, "aws.ec2.instance=CPUUtilization");
    strlist_add(&items, "insufficient_data=CLEAR");
    strlist_add(&items, "interval=-5");
    strlist_add(&items, "insufficient_data=RED");
    strlist_add(&items, "bogus=1");
    metrics_options o = {0};
    int n = metrics_options_from_config(&o, &items, &problems);
    CHECK(n == 3, "three problems: %d", n);
    CHECK(o.interval == 60 && o.max_per_hour == 1000 && o.choose.len == 1, "values taken");
    CHECK_STR(o.insufficient_data, "CLEAR");
    /* 1000 metrics this run; per hour 12000 (their own rates, from the plan) plus the
     * 200 ListMetrics/DescribeAlarms calls of each of the 60 runs an hour */
    metrics_report rep = { .requested = 1000, .list_calls = 100, .alarm_calls = 100, .per_hour = 12000 };
    double run, hour;
    metrics_cost(&rep, &o, &run, &hour);
    CHECK(run > 0.01199 && run < 0.01201 && hour > 0.2399 && hour < 0.2401, "cost %g %g", run, hour);
    metrics_options_free(&o);
    strlist_free(&items);
    strlist_free(&problems);
}

int main(void)
{
    test_names();
    test_openmetrics();
    test_intern_merge();
    test_schedule();
    test_cache();
    test_options();
    return test_summary();
}
