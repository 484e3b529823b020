/* test_pool.c -- the small-block allocator of Lua states (core/pool.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "testlib.h"

static void fill(unsigned char *b, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seed + i);
}

static int holds(const unsigned char *b, size_t n, unsigned char seed)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed + i)) return 0;
    return 1;
}

/* Many blocks of every size, freed in a shuffled order and allocated again:
 * no block overlaps another (each keeps its own pattern). */
static void test_many_blocks(void)
{
    pool p = {0};
    enum { N = 20000 };
    unsigned char *blocks[N];
    size_t sizes[N];
    for (int i = 0; i < N; i++) {
        sizes[i] = (size_t)(i % 300) + 1;            /* small and large */
        blocks[i] = pool_realloc(&p, NULL, 0, sizes[i]);
        fill(blocks[i], sizes[i], (unsigned char)i);
    }
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= holds(blocks[i], sizes[i], (unsigned char)i);
    CHECK(ok, "every block keeps its contents");
    for (int i = 0; i < N; i += 2) pool_realloc(&p, blocks[i], sizes[i], 0);
    for (int i = 0; i < N; i += 2) {
        blocks[i] = pool_realloc(&p, NULL, 0, sizes[i]);
        fill(blocks[i], sizes[i], (unsigned char)(i + 7));
    }
    ok = 1;
    for (int i = 1; i < N; i += 2) ok &= holds(blocks[i], sizes[i], (unsigned char)i);
    for (int i = 0; i < N; i += 2) ok &= holds(blocks[i], sizes[i], (unsigned char)(i + 7));
    CHECK(ok, "reused blocks do not overlap live ones");
    for (int i = 0; i < N; i++) pool_realloc(&p, blocks[i], sizes[i], 0);
    pool_free_all(&p);
    CHECK(p.chunks == NULL, "free_all releases every chunk");
}

/* realloc across classes and across the small/large border keeps the data. */
static void test_realloc(void)
{
    pool p = {0};
    size_t steps[] = { 1, 16, 17, 100, 256, 257, 1000, 200, 8 };
    size_t n = sizeof steps / sizeof *steps;
    unsigned char *b = pool_realloc(&p, NULL, 0, steps[0]);
    fill(b, steps[0], 3);
    for (size_t i = 1; i < n; i++) {
        size_t keep = steps[i - 1] < steps[i] ? steps[i - 1] : steps[i];
        b = pool_realloc(&p, b, steps[i - 1], steps[i]);
        CHECK(b != NULL, "realloc %zu -> %zu", steps[i - 1], steps[i]);
        CHECK(holds(b, keep, 3), "realloc %zu -> %zu keeps %zu bytes", steps[i - 1], steps[i], keep);
        fill(b, steps[i], 3);
    }
    unsigned char *same = pool_realloc(&p, b, 8, 12);
    CHECK(same == b || holds(same, 8, 3), "a realloc within a class keeps the block or its data");
    pool_realloc(&p, same, 12, 0);
    CHECK(pool_realloc(&p, NULL, 0, 0) == NULL, "a zero-size allocation is NULL");
    pool_free_all(&p);
}

int main(void)
{
    test_many_blocks();
    test_realloc();
    return test_summary();
}
