import { realpathSync, statSync, watch, type FSWatcher } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { dirname } from "node:path";

// Editors and `mv` write a file in several events; one reload after they settle is enough.
const SETTLE_MS = 150;
/** Default {@link WatchFileOptions.pollMs}. */
export const DEFAULT_KEY_FILE_POLL_MS = 2_000;
// A directory watch that failed is tried again after 1 s, 2 s, 4 s, ... up to this.
const MAX_REARM_MS = 30_000;

/** Tuning of {@link watchFile}. */
export interface WatchFileOptions {
  /** How often the file's identity is checked even without an event; default 2 s. */
  readonly pollMs?: number;
}

/**
 * What the path leads to now: the file at the end of its symlinks, with its
 * inode and modification time. A Kubernetes Secret swap changes the real
 * path; an atomic replace, the inode; an edit in place, the time and size.
 */
type Identity = string;

const MISSING: Identity = "missing";

function describe(real: string, info: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): Identity {
  return `${real}\0${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

function identityNow(path: string): { identity: Identity; real: string | undefined } {
  try {
    const real = realpathSync(path);
    return { identity: describe(real, statSync(real)), real };
  } catch {
    return { identity: MISSING, real: undefined };
  }
}

async function identityOf(path: string): Promise<{ identity: Identity; real: string | undefined }> {
  try {
    const real = await realpath(path);
    return { identity: describe(real, await stat(real)), real };
  } catch {
    return { identity: MISSING, real: undefined };
  }
}

/**
 * Calls `onChange` after the file at `path` changes, is replaced, reappears,
 * or now leads somewhere else through its symlinks. Three ways to notice,
 * because each misses something:
 * - a watch on the directory holding `path` (an atomic replace gives the
 *   path a new inode, which a watch on the old file would never report; a
 *   Kubernetes Secret swaps the `..data` symlink beside it, an event under
 *   another name, so every event counts);
 * - a watch on the directory of the file the symlinks lead to, when that is
 *   elsewhere (an edit in place of the target);
 * - a poll of the file's identity (real path, inode, size, times) every
 *   `pollMs`, for file systems without events and for events lost.
 * An event or a poll reloads only when the identity changed. A watch that
 * fails is closed and set up again with backoff; it never stops for good.
 */
export function watchFile(path: string, onChange: () => void, options: WatchFileOptions = {}): { close(): void } {
  const pollMs = options.pollMs ?? DEFAULT_KEY_FILE_POLL_MS;
  let { identity: known, real } = identityNow(path);
  let closed = false;
  let settle: NodeJS.Timeout | undefined;
  let rearm: NodeJS.Timeout | undefined;
  let rearmMs = 1_000;
  let checking = false;
  let checkAgain = false;
  const watchers = new Map<string, FSWatcher>();

  const check = async (): Promise<void> => {
    if (closed) return;
    if (checking) {
      // A change during a check is looked at right after it, not at the next poll.
      checkAgain = true;
      return;
    }
    checking = true;
    try {
      const now = await identityOf(path);
      if (closed || now.identity === known) return;
      known = now.identity;
      if (now.real !== real) {
        real = now.real;
        arm();
      }
      onChange();
    } finally {
      checking = false;
      if (checkAgain) {
        checkAgain = false;
        void check();
      }
    }
  };

  const onEvent = (): void => {
    clearTimeout(settle);
    settle = setTimeout(() => void check(), SETTLE_MS);
    settle.unref();
  };

  const arm = (): void => {
    if (closed) return;
    const wanted = new Set([dirname(path), ...(real === undefined ? [] : [dirname(real)])]);
    for (const [dir, watcher] of watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, onEvent);
        watcher.on("error", () => {
          watcher.close();
          watchers.delete(dir);
          scheduleRearm();
        });
        watchers.set(dir, watcher);
      } catch {
        // No such directory yet, or no watch support (some network file systems): the poll covers it meanwhile.
        scheduleRearm();
      }
    }
    if (watchers.size === wanted.size) rearmMs = 1_000;
  };

  const scheduleRearm = (): void => {
    if (closed || rearm !== undefined) return;
    rearm = setTimeout(() => {
      rearm = undefined;
      arm();
      // Whatever happened while nothing watched is caught now, not at the next poll.
      void check();
    }, rearmMs);
    rearm.unref();
    rearmMs = Math.min(rearmMs * 2, MAX_REARM_MS);
  };

  arm();
  const poll = setInterval(() => void check(), pollMs);
  poll.unref();

  return {
    close() {
      closed = true;
      clearTimeout(settle);
      clearTimeout(rearm);
      clearInterval(poll);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
