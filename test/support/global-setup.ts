/** Builds the fixture model once (cached across runs) before any test file starts. */
export default async function setup(): Promise<void> {
  const started = Date.now();
  const { ensureFixtureModel } = (await import("../../tools/fixture-model/index.js")) as {
    ensureFixtureModel: () => Promise<string>;
  };
  const dir = await ensureFixtureModel();
  process.env["SEMCACHE_TEST_MODEL_DIR"] = dir;
  console.log(`fixture model ready in ${dir} (${Date.now() - started} ms)`);
}
