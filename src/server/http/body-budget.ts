import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

/**
 * A bound on the bytes of request bodies being received at once, across all
 * calls. connect-es collects a message before it decodes it, so without one,
 * many slow or unfinished uploads (each under the message limit) add up to
 * whatever memory the server has. A body's bytes count from when they are
 * read until the body has ended or the call is over; a call whose next chunk
 * would take the total over the bound fails with RESOURCE_EXHAUSTED.
 */
export class BodyBudget {
  private used = 0;

  constructor(private readonly limitBytes: number) {}

  /** Bytes of unfinished bodies held right now. */
  get inUse(): number {
    return this.used;
  }

  /** The request with its body counted against the budget. */
  meter(request: UniversalServerRequest): UniversalServerRequest {
    const body = request.body;
    if (body === null || typeof body !== "object" || !(Symbol.asyncIterator in body)) return request;
    return { ...request, body: this.count(body as AsyncIterable<Uint8Array>, request.signal) };
  }

  /** A body counted against the budget until it ends or `callOver` aborts (plain-HTTP routes that read their own bodies). */
  async *count(body: AsyncIterable<Uint8Array>, callOver: AbortSignal): AsyncIterable<Uint8Array> {
    let held = 0;
    // A body its reader stops pulling from (the call failed first) is given back when the call is over.
    const release = (): void => {
      this.used -= held;
      held = 0;
    };
    callOver.addEventListener("abort", release, { once: true });
    try {
      for await (const chunk of body) {
        if (this.used + chunk.byteLength > this.limitBytes) {
          throw new ConnectError(
            `the server is already receiving ${Math.round(this.used / 1024 / 1024)} MiB of request bodies, its limit (SEMCACHE_MAX_PENDING_BODY_BYTES); retry shortly`,
            Code.ResourceExhausted,
          );
        }
        held += chunk.byteLength;
        this.used += chunk.byteLength;
        yield chunk;
      }
    } finally {
      release();
      callOver.removeEventListener("abort", release);
    }
  }
}
