#include "alloc.h"

extern unsigned char __heap_base; /* first free byte after data and stack, provided by wasm-ld */

static size_t top = 0;

static size_t heap_start(void) { return ((size_t)&__heap_base + 63) & ~(size_t)63; }

void ws_reset(void) { top = heap_start(); }

size_t ws_mark(void) {
  if (top == 0) ws_reset();
  return top;
}

void ws_release(size_t mark) { top = mark; }

void *ws_alloc(size_t bytes) {
  if (top == 0) ws_reset();
  size_t start = (top + 63) & ~(size_t)63;
  size_t end = start + ((bytes + 63) & ~(size_t)63);
  if (end < start) __builtin_trap();
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have) {
    size_t pages = (end - have + 65535) / 65536;
    /* Out of memory: trap; the host turns the trap into an error and resets the allocator. */
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
  }
  top = end;
  return (void *)start;
}

double *ws_doubles(size_t count) { return (double *)ws_alloc(count * sizeof(double)); }
int *ws_ints(size_t count) { return (int *)ws_alloc(count * sizeof(int)); }
