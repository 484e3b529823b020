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

#define POOL_CLASSES 16
#define POOL_MAX_BLOCK (16 * POOL_CLASSES)

typedef struct pool_chunk pool_chunk;

typedef struct pool {
    void *free_list[POOL_CLASSES];   /* freed blocks of each class */
    pool_chunk *chunks;              /* every chunk, for pool_free_all */
    char *cursor;                    /* unused space in the newest chunk */
    size_t left;
} pool;

/* realloc with Lua's allocator contract: ptr NULL = allocate nsize; nsize 0
 * = free (returns NULL); osize is ptr's size. NULL when memory runs out. */
void *pool_realloc(pool *p, void *ptr, size_t osize, size_t nsize);
void pool_free_all(pool *p);

#endif
