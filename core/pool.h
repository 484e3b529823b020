/* pool.h -- a small-block allocator for Lua states.
 *
 * A mapping run allocates and frees millions of small objects (strings,
 * table parts, closures) while the topology it emits grows in the process
 * heap. Through malloc, the two interleave: the heap fragments and glibc
 * spends its time consolidating free lists. A pool keeps a run's small
 * blocks to itself: sixteen size classes (16 to 256 bytes), each a free list
 * threaded through freed blocks, carved from 64 KiB chunks. Larger blocks go
 * to malloc. Everything is given back at once by pool_free_all.
 *
 * The caller must pass the block's size on free and realloc, as Lua does.
 * Not thread-safe: one pool per lua_State. Under AddressSanitizer it passes
 * every block to malloc, so the sanitizer still sees each one.
 */
#ifndef AWSTOPO_POOL_H
#define AWSTOPO_POOL_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define POOL_CLASSES 16
#define POOL_MAX_BLOCK (16 * POOL_CLASSES)

typedef struct pool_chunk pool_chunk;

typedef struct pool {
    void *free_list[POOL_CLASSES];   /* freed blocks of each class */
    pool_chunk *chunks;              /* every chunk, for pool_free_all */
    char *cursor;                    /* unused space in the newest chunk */
    size_t left;
} pool;

/* A block of class c (16 * (c + 1) bytes) carved from a new chunk; NULL
 * when memory runs out. pool_alloc's slow path. */
void *pool_carve(pool *p, size_t c);
void pool_free_all(pool *p);

/* Inline below: a Lua state calls its allocator for every string, table
 * part and closure (3.7 million times in a 10k-resource scan), and the call
 * into another file cost as much as the work. */

static inline size_t pool_class_of(size_t n)
{
    return (n - 1) / 16;            /* 1..16 -> 0, 17..32 -> 1, ... */
}

static inline void *pool_alloc(pool *p, size_t c)
{
    void *b = p->free_list[c];
    if (!b) return pool_carve(p, c);
    p->free_list[c] = *(void **)b;
    return b;
}

static inline void pool_release(pool *p, void *b, size_t c)
{
    *(void **)b = p->free_list[c];
    p->free_list[c] = b;
}

/* realloc with Lua's allocator contract: ptr NULL = allocate nsize; nsize 0
 * = free (returns NULL); osize is ptr's size. NULL when memory runs out. */
static inline void *pool_realloc(pool *p, void *ptr, size_t osize, size_t nsize)
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
#else
    int old_small = ptr && osize <= POOL_MAX_BLOCK;
    if (nsize == 0) {
        if (old_small) pool_release(p, ptr, pool_class_of(osize));
        else free(ptr);
        return NULL;
    }
    int new_small = nsize <= POOL_MAX_BLOCK;
    if (!ptr) return new_small ? pool_alloc(p, pool_class_of(nsize)) : malloc(nsize);
    if (!old_small && !new_small) return realloc(ptr, nsize);
    if (old_small && new_small && pool_class_of(osize) == pool_class_of(nsize)) return ptr;
    void *q = new_small ? pool_alloc(p, pool_class_of(nsize)) : malloc(nsize);
    if (!q) return NULL;
    memcpy(q, ptr, osize < nsize ? osize : nsize);
    if (old_small) pool_release(p, ptr, pool_class_of(osize));
    else free(ptr);
    return q;
#endif
}

#endif
