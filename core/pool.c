/* pool.c -- size-class free lists over 64 KiB chunks (see pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE (64 * 1024)

struct pool_chunk {
    pool_chunk *next;
    _Alignas(16) char data[];
};

static size_t class_of(size_t n)
{
    return (n - 1) / 16;            /* 1..16 -> 0, 17..32 -> 1, ... */
}

static void *block_alloc(pool *p, size_t c)
{
    void *b = p->free_list[c];
    if (b) {
        p->free_list[c] = *(void **)b;
        return b;
    }
    size_t size = (c + 1) * 16;
    if (p->left < size) {
        pool_chunk *ch = malloc(sizeof *ch + CHUNK_SIZE);
        if (!ch) return NULL;
        ch->next = p->chunks;
        p->chunks = ch;
        p->cursor = ch->data;
        p->left = CHUNK_SIZE;
    }
    b = p->cursor;
    p->cursor += size;
    p->left -= size;
    return b;
}

static void block_free(pool *p, void *b, size_t c)
{
    *(void **)b = p->free_list[c];
    p->free_list[c] = b;
}

void *pool_realloc(pool *p, void *ptr, size_t osize, size_t nsize)
{
#ifdef __SANITIZE_ADDRESS__
    /* Under AddressSanitizer every block comes from malloc, so that overruns
     * inside what would be a pool chunk are still caught. */
    (void)p;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
#endif
    int old_small = ptr && osize <= POOL_MAX_BLOCK;
    if (nsize == 0) {
        if (old_small) block_free(p, ptr, class_of(osize));
        else free(ptr);
        return NULL;
    }
    int new_small = nsize <= POOL_MAX_BLOCK;
    if (!ptr) return new_small ? block_alloc(p, class_of(nsize)) : malloc(nsize);
    if (!old_small && !new_small) return realloc(ptr, nsize);
    if (old_small && new_small && class_of(osize) == class_of(nsize)) return ptr;
    void *q = new_small ? block_alloc(p, class_of(nsize)) : malloc(nsize);
    if (!q) return NULL;
    memcpy(q, ptr, osize < nsize ? osize : nsize);
    if (old_small) block_free(p, ptr, class_of(osize));
    else free(ptr);
    return q;
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
