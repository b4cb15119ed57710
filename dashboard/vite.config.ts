// The dashboard's build: `npm run build:dashboard` writes dashboard/dist,
// which semcache serves at / (src/observability/static-files.ts).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Relative asset URLs: the page works at / and behind a path prefix alike.
  base: "./",
  // No dev-server dependency pre-bundling surprises: everything comes from node_modules.
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Small enough to inline nothing and name everything by content hash.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { port: 5173, strictPort: false },
});
