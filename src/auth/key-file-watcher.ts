import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

// Editors and `mv` write a file in several events; one reload after they settle is enough.
const SETTLE_MS = 150;

/**
 * Calls `onChange` after the file at `path` changes, is replaced or
 * reappears. Watches the directory, not the file: an atomic replace (write a
 * temporary file, rename it over the old one) gives the path a new inode,
 * which a watch on the old file would never report.
 */
export function watchFile(path: string, onChange: () => void): { close(): void } {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, SETTLE_MS);
      timer.unref();
    });
    watcher.on("error", () => watcher?.close());
  } catch {
    // No watch support here (some network file systems): SIGHUP still reloads.
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
