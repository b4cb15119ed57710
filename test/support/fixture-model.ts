import { ensureFixtureModel } from "../../tools/fixture-model/index.js";

/** The fixture model's directory (built by the global setup; built here if a file runs alone). */
export async function fixtureModelDir(): Promise<string> {
  return process.env["SEMCACHE_TEST_MODEL_DIR"] ?? (await ensureFixtureModel());
}
