/* Workspace: a bump allocator over the module's linear memory. The host resets it before every SVD, so a
 * worker that runs many SVDs reuses the same pages instead of growing; inside one SVD, routines take a
 * mark and release back to it (stack discipline). */
#ifndef SVD_ALLOC_H
#define SVD_ALLOC_H
#include "common.h"

void *ws_alloc(size_t bytes);          /* 64-byte aligned; traps when memory cannot grow */
size_t ws_mark(void);
void ws_release(size_t mark);
void ws_reset(void);
double *ws_doubles(size_t count);       /* ws_alloc for count doubles */
int *ws_ints(size_t count);

#endif
