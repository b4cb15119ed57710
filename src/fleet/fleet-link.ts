/**
 * The fleet's own connection to Redis: the one every fleet module (claims,
 * counters, rate limits) sends its commands through.
 *
 * Separate from the store's connection on purpose: coordination commands are
 * tiny and must answer fast or be given up on (then each replica acts alone),
 * so they get their own short timeout and never queue behind a store's bulk
 * writes or searches. It connects in the background and reconnects by itself;
 * until it is up, `connection` is undefined and the fleet modules fall back to
 * their per-replica behaviour.
 */
import { RedisConnection, type StoreConnection } from "../store/redis/connection.js";

/** How the fleet connects; see FLEET_DEFAULTS. */
export interface FleetLinkOptions {
  /** The store's Redis URL (SEMCACHE_REDIS_URL): the fleet shares it. */
  readonly url: string;
  /** The store's key prefix (SEMCACHE_REDIS_KEY_PREFIX); fleet keys live under `<prefix>fleet:`. */
  readonly keyPrefix: string;
  /** Upper bound on one coordination command; past it, the replica acts alone for that call. */
  readonly commandTimeoutMs?: number;
  /** Connection errors, once per outage; must not throw. */
  readonly onError?: (error: Error) => void;
}

/** Defaults of a fleet link. */
export const FLEET_DEFAULTS = {
  commandTimeoutMs: 500,
  connectTimeoutMs: 2000,
  /** Wait between attempts while the first connection cannot be made. */
  retryOpenMs: 2000,
} as const;

/** See the module comment. */
export class FleetLink {
  #connection: StoreConnection | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  private constructor(
    /** Prefix of every fleet key, e.g. `semcache:fleet:`. */
    readonly prefix: string,
  ) {}

  /** Starts connecting in the background; never throws, never waits. */
  static start(options: FleetLinkOptions): FleetLink {
    const link = new FleetLink(`${options.keyPrefix}fleet:`);
    link.open(options);
    return link;
  }

  /** A link over an open connection (tests). */
  static over(connection: StoreConnection, keyPrefix: string): FleetLink {
    const link = new FleetLink(`${keyPrefix}fleet:`);
    link.#connection = connection;
    return link;
  }

  /** The connection once it was made (it may be down right now: its commands then fail fast); undefined before. */
  get connection(): StoreConnection | undefined {
    return this.#connection;
  }

  /** The full name of a fleet key. */
  key(...parts: readonly string[]): string {
    return `${this.prefix}${parts.join(":")}`;
  }

  /** Stops connecting and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#connection?.close();
  }

  private open(options: FleetLinkOptions): void {
    const onError = options.onError ?? (() => undefined);
    RedisConnection.open({
      url: options.url,
      commandTimeoutMs: options.commandTimeoutMs ?? FLEET_DEFAULTS.commandTimeoutMs,
      connectTimeoutMs: FLEET_DEFAULTS.connectTimeoutMs,
      startupTimeoutMs: FLEET_DEFAULTS.connectTimeoutMs,
      maxReconnectDelayMs: FLEET_DEFAULTS.connectTimeoutMs,
      onError,
    }).then(
      (connection) => {
        if (this.#closed) void connection.close();
        else this.#connection = connection;
      },
      (error: unknown) => {
        onError(error instanceof Error ? error : new Error(String(error)));
        if (this.#closed) return;
        this.#retry = setTimeout(() => this.open(options), FLEET_DEFAULTS.retryOpenMs);
        this.#retry.unref();
      },
    );
  }
}
