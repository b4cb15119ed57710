/**
 * The API key the dashboard sends as `authorization: Bearer <key>`, kept in
 * the browser tab's sessionStorage.
 *
 * sessionStorage, not localStorage: the key is a credential, and
 * localStorage keeps it in the browser profile with no expiry, so it would
 * outlive the session and be there for whoever opens the same profile next
 * (a shared or borrowed machine) long after the user stopped thinking of it.
 * sessionStorage belongs to this one tab and is gone when the tab or the
 * browser session closes; a reload still keeps it. Forget removes it at once.
 *
 * A key is stored per API base URL, so `?api=` pointing the page at another
 * server never sends it the first server's key.
 */

const PREFIX = "semcache.apiKey ";

/** Where the key lives when the browser refuses sessionStorage (storage disabled, sandboxed frame): this page only. */
const inMemory = new Map<string, string>();

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

/** The key saved for the API at `baseUrl`, or undefined (then the dashboard sends no authorization header). */
export function savedApiKey(baseUrl: string): string | undefined {
  try {
    const value = storage()?.getItem(PREFIX + baseUrl);
    if (value !== null && value !== undefined && value !== "") return value;
  } catch {
    // Unreadable storage: fall through to the page's own copy.
  }
  return inMemory.get(baseUrl);
}

/** Saves `key` (already checked by {@link parseApiKey}) for the API at `baseUrl`. */
export function saveApiKey(baseUrl: string, key: string): void {
  inMemory.set(baseUrl, key);
  try {
    storage()?.setItem(PREFIX + baseUrl, key);
  } catch {
    // Full or refused storage: the in-memory copy serves this page.
  }
}

/** Removes the key of the API at `baseUrl` from this tab. */
export function forgetApiKey(baseUrl: string): void {
  inMemory.delete(baseUrl);
  try {
    storage()?.removeItem(PREFIX + baseUrl);
  } catch {
    // Nothing more to remove.
  }
}

/**
 * The key in what was typed or pasted: trimmed, and without a leading
 * `Bearer ` (people paste whole headers). An error message instead when it
 * cannot be a key: a header value may not hold spaces or control characters,
 * and fetch would refuse to send it.
 */
export function parseApiKey(input: string): { key: string } | { error: string } {
  const key = input.trim().replace(/^bearer\s+/i, "");
  if (key === "") return { error: "Enter a key first." };
  if (!/^[\x21-\x7e]+$/.test(key)) return { error: "An API key has no spaces or special characters: check what was pasted." };
  return { key };
}
