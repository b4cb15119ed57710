import { configDefaults, defineConfig } from "vitest/config";
import { suitesWithoutTheirTools } from "./test/support/system-prerequisites.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Suites whose system tools are missing and could not be installed (never under CI=true).
    exclude: [...configDefaults.exclude, ...suitesWithoutTheirTools()],
    globalSetup: ["test/support/global-setup.ts"],
    // Every server test loads a real ONNX model; two workers match the two cores CI has.
    pool: "forks",
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ["default"],
  },
});
