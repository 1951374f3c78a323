/* Index sort shared by the merge step and the driver. */
#ifndef SVD_SORT_H
#define SVD_SORT_H

/* Stable merge sort of idx[0:n] by key[idx[·]] ascending; tmp has n entries. */
void sort_by_key(int n, int *idx, const double *key, int *tmp);

#endif
