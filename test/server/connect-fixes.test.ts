import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CONNECT_FIXES_WRITTEN_FOR } from "../../src/server/http/connect-fixes/index.js";

describe("the connect-es corrections (src/server/http/connect-fixes)", () => {
  it.each(["@connectrpc/connect", "@connectrpc/connect-node"])("were written for the installed %s (after an upgrade: run bad-input-wire.test.ts, then update the version)", async (name) => {
    // The packages do not export their package.json; read it where npm put it.
    const path = fileURLToPath(new URL(`../../node_modules/${name}/package.json`, import.meta.url));
    const { version } = JSON.parse(await readFile(path, "utf8")) as { version: string };
    expect(version).toBe(CONNECT_FIXES_WRITTEN_FOR);
  });
});
