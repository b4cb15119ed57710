/**
 * The fleet's Stats counters, kept in Redis: one hash per namespace and one
 * for the sum over all, so every replica's Stats answers for the fleet.
 *
 * Counting costs no round trip: adds accumulate here and are written in
 * one script (HINCRBYs, atomic) every `flushMs` or every `maxPending` adds,
 * whichever comes first. So another replica's counts show in Stats within
 * about `flushMs`; this replica's own, at once (its unwritten adds are added
 * on read). A batch Redis refused is kept and written with the next one;
 * one whose answer timed out may have been applied and is written again
 * (counted twice), the price of not losing counts to an outage.
 */
import { zero, type CounterName, type CounterValues, type SharedCounters } from "../cache/counters.js";
import type { FleetLink } from "./fleet-link.js";
import { luaScript } from "./lua.js";

/**
 * KEYS: the sum's hash, then one hash per namespace. ARGV[1]: JSON array,
 * for each namespace hash, an object of counter → amount. Each amount is
 * added to the namespace's hash and to the sum's.
 */
const ADD_COUNTS = luaScript(
  "fleet-add-counts",
  `local batches = cjson.decode(ARGV[1])
for i, batch in ipairs(batches) do
  for name, by in pairs(batch) do
    redis.call('HINCRBY', KEYS[i + 1], name, by)
    redis.call('HINCRBY', KEYS[1], name, by)
  end
end
return #batches`,
);

/** When batches are written; see FLEET_COUNTER_DEFAULTS. */
export interface FleetCountersOptions {
  readonly flushMs?: number;
  readonly maxPending?: number;
  /** Told why a batch could not be written (it is kept for the next). */
  readonly onError?: (error: unknown) => void;
}

/** Defaults of FleetCountersOptions. */
export const FLEET_COUNTER_DEFAULTS = { flushMs: 1000, maxPending: 1000 } as const;

type Batch = Map<string, Partial<Record<CounterName, number>>>;

/** See the module comment. */
export class FleetCounters implements SharedCounters {
  #pending: Batch = new Map();
  #pendingAdds = 0;
  #flushing: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;
  readonly #maxPending: number;

  constructor(
    private readonly link: FleetLink,
    private readonly options: FleetCountersOptions = {},
  ) {
    this.#maxPending = options.maxPending ?? FLEET_COUNTER_DEFAULTS.maxPending;
    this.#timer = setInterval(() => void this.flush(), options.flushMs ?? FLEET_COUNTER_DEFAULTS.flushMs);
    this.#timer.unref();
  }

  add(namespace: string, name: CounterName, by: number): void {
    // HINCRBY takes whole numbers only, and a script that fails half-way keeps its first half.
    const whole = Math.round(by);
    if (whole === 0 || !Number.isSafeInteger(whole)) return;
    addTo(this.#pending, namespace, name, whole);
    if (++this.#pendingAdds >= this.#maxPending) void this.flush();
  }

  async read(namespace?: string): Promise<CounterValues | undefined> {
    const connection = this.link.connection;
    if (connection === undefined) return undefined;
    let reply: string[];
    try {
      reply = await connection.command<string[]>(["HGETALL", this.hashKey(namespace)]);
    } catch {
      return undefined;
    }
    const values = zero();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const name = reply[i] as string;
      if (name in values) values[name as CounterName] = Number(reply[i + 1]);
    }
    // This replica's unwritten adds, so its own calls show at once.
    for (const [ns, batch] of this.#pending) {
      if (namespace !== undefined && ns !== namespace) continue;
      for (const [name, by] of Object.entries(batch) as [CounterName, number][]) values[name] += by;
    }
    return values;
  }

  /** Writes the pending adds now; resolves once written (or kept for the next batch). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.write());
    return this.#flushing;
  }

  /** Stops the timer and writes what is pending. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const connection = this.link.connection;
    if (connection === undefined) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#pendingAdds = 0;
    const namespaces = [...batch.keys()];
    try {
      await connection.script(
        ADD_COUNTS,
        [this.hashKey(undefined), ...namespaces.map((ns) => this.hashKey(ns))],
        [JSON.stringify(namespaces.map((ns) => batch.get(ns)))],
      );
    } catch (error) {
      for (const [ns, counts] of batch) for (const [name, by] of Object.entries(counts) as [CounterName, number][]) addTo(this.#pending, ns, name, by);
      this.options.onError?.(error);
    }
  }

  private hashKey(namespace: string | undefined): string {
    return namespace === undefined ? this.link.key("stats", "all") : this.link.key("stats", "ns", namespace);
  }
}

function addTo(batch: Batch, namespace: string, name: CounterName, by: number): void {
  let counts = batch.get(namespace);
  if (counts === undefined) {
    counts = {};
    batch.set(namespace, counts);
  }
  counts[name] = (counts[name] ?? 0) + by;
}
