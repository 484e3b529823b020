/* pool.c -- size-class free lists over 64 KiB chunks (see pool.h). */
#include "pool.h"

#include "buf.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE (64 * 1024)

struct pool_chunk {
    pool_chunk *next;
    _Alignas(16) char data[];
};

void *pool_carve(pool *p, size_t c)
{
    size_t size = (c + 1) * 16;
    if (p->left < size) {
        pool_chunk *ch = malloc(sizeof *ch + CHUNK_SIZE);
        if (!ch) return NULL;
        mem_populate(ch->data, CHUNK_SIZE);   /* its pages in one call, not a fault each */
        ch->next = p->chunks;
        p->chunks = ch;
        p->cursor = ch->data;
        p->left = CHUNK_SIZE;
    }
    void *b = p->cursor;
    p->cursor += size;
    p->left -= size;
    return b;
}

void pool_free_all(pool *p)
{
    while (p->chunks) {
        pool_chunk *next = p->chunks->next;
        free(p->chunks);
        p->chunks = next;
    }
    memset(p, 0, sizeof *p);
}
