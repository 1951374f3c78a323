/**
 * Results of an async function over a list, in the list's order, with at most `concurrency` calls in
 * flight. Decoding images is I/O plus native work on libuv's threads, so a few at once keep the CPU busy,
 * while the order (and so every count, report and batch) stays the same from run to run.
 *
 * A call that fails is thrown when its turn comes, not earlier; stopping the iteration (break, return,
 * or a thrown error) starts no new calls, and the ones in flight finish unobserved.
 */
export async function* mapOrdered<T, R>(
  items: ArrayLike<T>,
  concurrency: number,
  call: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal
): AsyncGenerator<R> {
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`)
  type Settled = { ok: true; value: R } | { ok: false; error: unknown }
  const inFlight: Promise<Settled>[] = []
  let next = 0
  const start = (): void => {
    const index = next++
    // Settled, never rejected: a failure waiting in the queue must not become an unhandled rejection.
    inFlight.push(
      Promise.resolve()
        .then(() => call(items[index]!, index))
        .then(
          (value): Settled => ({ ok: true, value }),
          (error: unknown): Settled => ({ ok: false, error })
        )
    )
  }
  while (next < items.length || inFlight.length > 0) {
    signal?.throwIfAborted()
    while (next < items.length && inFlight.length < concurrency) start()
    const settled = await inFlight.shift()!
    if (!settled.ok) throw settled.error
    yield settled.value
  }
}
