#include "sort.h"
#include "common.h"

void sort_by_key(int n, int *idx, const double *key, int *tmp) {
  for (int width = 1; width < n; width *= 2) {
    for (int lo = 0; lo < n; lo += 2 * width) {
      int mid = imin(lo + width, n), hi = imin(lo + 2 * width, n), a = lo, b = mid, o = lo;
      while (a < mid && b < hi) tmp[o++] = key[idx[b]] < key[idx[a]] ? idx[b++] : idx[a++];
      while (a < mid) tmp[o++] = idx[a++];
      while (b < hi) tmp[o++] = idx[b++];
    }
    for (int i = 0; i < n; i++) idx[i] = tmp[i];
  }
}
