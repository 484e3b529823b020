/* test_util.c -- the shared helpers: set_err, strlist, has_suffix,
 * compare_strings, read_file (plain, secret, relative to a directory),
 * read_file_maybe_gz and the gzip pair. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "util.h"

static char dir[] = "/tmp/awstopo-test-util.XXXXXX";

static void put(const char *name, const void *data, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

static const char *in_dir(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void test_strings(void)
{
    char err[16] = "x";
    CHECK(set_err(err, sizeof err, "%s %d", "code", 42) == -1, "set_err returns -1");
    CHECK_STR(err, "code 42");
    set_err(err, 4, "truncated");
    CHECK_STR(err, "tru");
    CHECK(set_err(NULL, 0, "nowhere") == -1, "NULL err is fine");

    strlist l = {0};
    const char *names[] = { "sqs", "ec2", "s3", "elbv2", "apigateway", "ec2", "lambda", "vpc", "sns" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) strlist_add(&l, names[i]);
    CHECK(l.len == 9 && l.items[0] != names[0] && strcmp(l.items[0], "sqs") == 0, "strlist copies");
    qsort(l.items, l.len, sizeof *l.items, compare_strings);
    CHECK_STR(l.items[0], "apigateway");
    CHECK_STR(l.items[1], "ec2");
    CHECK_STR(l.items[8], "vpc");
    strlist_free(&l);
    CHECK(l.len == 0 && l.items == NULL, "strlist_free empties");

    CHECK(has_suffix("a.case.json", ".case.json"), "suffix");
    CHECK(has_suffix(".tmp", ".tmp"), "whole string");
    CHECK(!has_suffix("tmp", ".tmp"), "shorter than the suffix");
    CHECK(!has_suffix("a.json", ".case.json"), "other suffix");
    CHECK(has_suffix("x", ""), "empty suffix");
}

static void test_read_file(void)
{
    size_t big_len = 300000;   /* more than one read and more than the slack */
    char *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) big[i] = (char)('a' + i % 26);
    put("big", big, big_len);
    put("empty", "", 0);

    for (int secret = 0; secret <= 1; secret++) {
        buf b = {0};
        buf_puts(&b, "head:");
        CHECK(read_file(in_dir("big"), &b, secret) == 0, "read big (secret %d)", secret);
        CHECK(b.len == 5 + big_len && memcmp(b.data, "head:", 5) == 0 && memcmp(b.data + 5, big, big_len) == 0 &&
                  b.data[b.len] == '\0',
              "appended whole and NUL-terminated (secret %d)", secret);
        buf_wipe(&b);
    }

    buf b = {0};
    CHECK(read_file(in_dir("empty"), &b, 0) == 0 && b.len == 0, "empty file");
    errno = 0;
    CHECK(read_file(in_dir("nope"), &b, 0) == -1 && errno == ENOENT, "missing: ENOENT");
    errno = 0;
    CHECK(read_file(dir, &b, 1) == -1 && errno == EISDIR, "directory: EISDIR");
    CHECK(b.len == 0, "nothing appended on failure");

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(read_file_at(dfd, "big", &b, 0) == 0 && b.len == big_len, "read_file_at");
    close(dfd);
    buf_free(&b);
    free(big);
}

static void test_gzip(void)
{
    const char *text = "{\"components\":[1,2,3],\"relations\":[]}";
    buf gz = {0}, plain = {0};
    gzip_compress(&gz, text, strlen(text));
    CHECK(gz.len > 10 && (unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b, "gzip header");
    char err[128] = "";
    CHECK(gzip_decompress(&plain, gz.data, gz.len, err, sizeof err) == 0, "round trip: %s", err);
    CHECK_STR(plain.data, text);
    buf_clear(&plain);
    CHECK(gzip_decompress(&plain, gz.data, gz.len - 4, err, sizeof err) == -1 && plain.len == 0, "truncated");
    CHECK(strstr(err, "truncated") != NULL, "says why: %s", err);

    size_t len = 99;
    put("plain.json", text, strlen(text));
    put("zipped.json.gz", gz.data, gz.len);
    put("damaged.json.gz", gz.data, gz.len / 2);
    char *got = read_file_maybe_gz(in_dir("plain.json"), &len);
    CHECK(got && len == strlen(text) && strcmp(got, text) == 0, "plain file as it is");
    free(got);
    got = read_file_maybe_gz(in_dir("zipped.json.gz"), &len);
    CHECK(got && len == strlen(text) && strcmp(got, text) == 0, "gzip file unpacked");
    free(got);
    CHECK(read_file_maybe_gz(in_dir("damaged.json.gz"), &len) == NULL, "damaged gzip -> NULL");
    CHECK(read_file_maybe_gz(in_dir("nope"), &len) == NULL, "missing -> NULL");
    got = read_file_maybe_gz(in_dir("empty"), &len);
    CHECK(got && len == 0 && got[0] == '\0', "empty file -> \"\"");
    free(got);
    buf_free(&gz);
    buf_free(&plain);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_strings();
    test_read_file();
    test_gzip();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return test_summary();
}
