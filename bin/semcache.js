#!/usr/bin/env node
// In a checkout (the TypeScript source is beside this file) the CLI runs from source through tsx, so
// `npx semcache` works right after `npm install` and never runs a stale build; an installed package or
// the Docker image has only the compiled dist/.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  await import("../dist/cli/main.js");
}
