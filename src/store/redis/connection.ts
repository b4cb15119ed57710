/**
 * The one Redis connection a store uses, wrapped so that every command either
 * answers or fails within a bounded time, and every outage surfaces as
 * StoreUnavailableError.
 *
 * - No offline queue: while the connection is down, commands are refused at
 *   once instead of piling up to run minutes later.
 * - Each command races a timer, because node-redis only times out commands
 *   still waiting to be written, not ones already sent to a Redis that has
 *   stopped answering.
 * - Reconnection runs in the background with capped exponential backoff and
 *   jitter, and needs nothing from the caller.
 */
import { createClient, ErrorReply, type RedisArgument } from "redis";
import { StoreUnavailableError } from "../cache-store.js";
import type { LuaScript } from "./scripts.js";
import { redactRedisUrl } from "./naming.js";

/** How to connect, and how long to wait for what. */
export interface ConnectionOptions {
  readonly url: string;
  /** Upper bound on any one command, from the call to its answer. */
  readonly commandTimeoutMs: number;
  /** Upper bound on one TCP (and TLS) connection attempt. */
  readonly connectTimeoutMs: number;
  /** How long `open` keeps trying before giving up on an unreachable Redis. */
  readonly startupTimeoutMs: number;
  /** Cap of the reconnection backoff. */
  readonly maxReconnectDelayMs: number;
  /** Receives connection errors (de-duplicated per outage); must not throw. */
  readonly onError: (error: Error) => void;
}

/** Per-command overrides. */
export interface CommandOptions {
  /** Replaces the default command timeout (for slow administrative commands). */
  readonly timeoutMs?: number;
}

// Server replies that mean "the backend cannot serve now" rather than "this
// command is wrong": loading, busy, failing over, out of memory, or the
// credentials no longer accepted.
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF|OOM|NOAUTH|WRONGPASS)\b/u;

// How RediSearch says an index does not exist: "<name>: no such index"
// (2.6, FT.SEARCH), "Unknown Index name" (FT.INFO), "Unknown index name"
// (2.8+). After a restart without persistence, or an FT.DROPINDEX, the
// store's own index is the one missing: a fault of the store, which it
// repairs itself, never a bad request.
const MISSING_INDEX_REPLY = /no such index|unknown index name/iu;

/**
 * The store's index is missing from Redis (Redis restarted empty, or the
 * index was dropped): UNAVAILABLE to callers while the store re-creates it.
 */
export class IndexMissingError extends StoreUnavailableError {
  override readonly name: string = "IndexMissingError";
}

/**
 * What a failed command means for callers: outages, timeouts, replies that
 * say the server cannot serve now and a missing index become
 * StoreUnavailableError (IndexMissingError for the index); any other server
 * reply (a bad command) is returned as it is, since retrying will not fix it.
 */
export function toStoreError(error: unknown, safeUrl: string, command: string): Error {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof ErrorReply) {
    if (MISSING_INDEX_REPLY.test(error.message)) {
      return new IndexMissingError(`the search index is missing on Redis at ${safeUrl} (${command}: ${error.message}); it is being re-created`, {
        cause: error,
      });
    }
    if (UNAVAILABLE_REPLY.test(error.message)) {
      return new StoreUnavailableError(`Redis at ${safeUrl} refused ${command}: ${error.message}`, { cause: error });
    }
    return error;
  }
  // Anything else from the client is about the connection: offline, closed, reset, timed out.
  return new StoreUnavailableError(`Redis at ${safeUrl} is unavailable (${command}): ${messageOf(error)}`, { cause: error });
}

// The slice of node-redis this module relies on; keeps the rest of the store
// independent of node-redis's heavily generic client type.
interface RawClient {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  sendCommand(args: readonly RedisArgument[], options?: { timeout?: number }): Promise<unknown>;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "ready" | "end", listener: () => void): unknown;
  readonly isReady: boolean;
}

/** Backoff before reconnection attempt `retries` (0-based): 50 ms doubling up to the cap, plus jitter. */
export function reconnectDelayMs(retries: number, capMs: number): number {
  const base = Math.min(capMs, 50 * 2 ** Math.min(retries, 20));
  return Math.round(base + Math.random() * Math.min(100, base / 2));
}

/**
 * What the store needs from a connection. RedisConnection is the real one;
 * tests substitute canned replies to exercise the FT.* paths without a
 * RediSearch server.
 */
export interface StoreConnection {
  /** The URL without its password, for messages. */
  readonly safeUrl: string;
  readonly isReady: boolean;
  command<T = unknown>(args: readonly RedisArgument[], options?: CommandOptions): Promise<T>;
  script<T = unknown>(script: LuaScript, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<T>;
  /**
   * Calls `listener` each time the connection is up again after it was lost
   * (not at the first connect): Redis may have come back empty.
   */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

/** A connected client; see the module comment for the guarantees. */
export class RedisConnection implements StoreConnection {
  /** The URL without its password, for messages. */
  readonly safeUrl: string;
  private closed = false;
  private reportedOutage = false;
  private started = false;
  private lastError: Error | undefined;
  private readonly reconnectListeners: (() => void)[] = [];

  private constructor(
    private readonly client: RawClient,
    private readonly options: ConnectionOptions,
  ) {
    this.safeUrl = redactRedisUrl(options.url);
  }

  /**
   * Connects, retrying until `startupTimeoutMs`; then throws
   * StoreUnavailableError naming the URL (without its password).
   */
  static async open(options: ConnectionOptions): Promise<RedisConnection> {
    // The strategy runs only after connect() below, by when this is set.
    const self: { connection?: RedisConnection } = {};
    const client = createClient({
      url: options.url,
      // RESP2 replies have the same shape for FT.* on every RediSearch
      // version; RESP3 shapes changed between 2.6 and 2.8.
      RESP: 2,
      disableOfflineQueue: true,
      // Enterprise maintenance push notifications need RESP3.
      maintNotifications: "disabled",
      // Bounds what can be in flight at once (the offline queue is off).
      commandsQueueMaxLength: 10_000,
      commandOptions: { timeout: options.commandTimeoutMs },
      socket: {
        connectTimeout: options.connectTimeoutMs,
        reconnectStrategy: (retries: number, cause: Error) => {
          // A refused handshake (wrong password, unknown user) will not fix
          // itself while starting: fail now rather than at the deadline.
          if (self.connection?.started === false && cause instanceof ErrorReply) return cause;
          return reconnectDelayMs(retries, options.maxReconnectDelayMs);
        },
      },
    }) as unknown as RawClient;
    const connection = new RedisConnection(client, options);
    self.connection = connection;
    client.on("error", (error) => connection.reportError(error));
    client.on("ready", () => {
      connection.reportedOutage = false;
      if (connection.started) connection.reconnected();
    });

    let timer: NodeJS.Timeout | undefined;
    const connecting = client.connect();
    connecting.catch(() => undefined);
    try {
      await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const last = connection.lastError === undefined ? "" : ` (last error: ${messageOf(connection.lastError)})`;
            reject(new StoreUnavailableError(`cannot reach Redis at ${connection.safeUrl} within ${options.startupTimeoutMs} ms${last}`));
          }, options.startupTimeoutMs);
        }),
      ]);
    } catch (error) {
      client.destroy();
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(`cannot connect to Redis at ${connection.safeUrl}: ${messageOf(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    connection.started = true;
    return connection;
  }

  /** Whether the connection is up right now (it may still drop before the next command). */
  get isReady(): boolean {
    return !this.closed && this.client.isReady;
  }

  /**
   * Sends one command. Outages, timeouts and a missing index throw
   * StoreUnavailableError (see {@link toStoreError}); any other server error
   * reply (a bad command) is rethrown as node-redis's ErrorReply.
   */
  async command<T = unknown>(args: readonly RedisArgument[], options: CommandOptions = {}): Promise<T> {
    const name = String(args[0] ?? "?");
    if (this.closed) throw new StoreUnavailableError("the Redis store is closed");
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const sent = this.client.sendCommand(args, { timeout: timeoutMs });
    // The loser of the race below may still reject later; nobody awaits it.
    sent.catch(() => undefined);
    try {
      return (await Promise.race([
        sent,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new StoreUnavailableError(`Redis at ${this.safeUrl} did not answer ${name} within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ])) as T;
    } catch (error) {
      throw toStoreError(error, this.safeUrl, name);
    } finally {
      clearTimeout(timer);
    }
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Runs a Lua script by SHA1, loading it on the first NOSCRIPT (new or restarted server). */
  async script<T = unknown>(script: LuaScript, keys: readonly RedisArgument[], args: readonly RedisArgument[]): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.command<T>(["EVALSHA", script.sha1, ...tail]);
    } catch (error) {
      if (!(error instanceof ErrorReply) || !error.message.startsWith("NOSCRIPT")) throw error;
      return this.command<T>(["EVAL", script.source, ...tail]);
    }
  }

  /** Closes the connection: lets in-flight commands finish for up to a command timeout, then drops it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const closing = this.client.close();
      closing.catch(() => undefined);
      await Promise.race([
        closing,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.options.commandTimeoutMs);
        }),
      ]);
    } catch {
      // Closing a connection that is already down: nothing left to release but the socket.
    } finally {
      clearTimeout(timer);
      try {
        this.client.destroy();
      } catch {
        // Already closed.
      }
    }
  }

  private reconnected(): void {
    if (this.closed) return;
    for (const listener of this.reconnectListeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own to report; the connection carries on.
      }
    }
  }

  // node-redis emits an error on every failed reconnection attempt; one
  // report per outage is enough for a log.
  private reportError(error: Error): void {
    this.lastError = error;
    if (this.reportedOutage || this.closed) return;
    this.reportedOutage = true;
    try {
      this.options.onError(error);
    } catch {
      // A failing logger must not take the process down with it.
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
