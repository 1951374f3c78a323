/** A request the back end refuses (bad params, a run in the wrong state): its message goes to the client as it is. */
export class RequestError extends Error {
  override name = 'RequestError'
}
