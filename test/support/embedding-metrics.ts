/**
 * What a running server's model has embedded, read from its /metrics: for
 * tests and benchmarks that check whether a call ran the model.
 */

/** The whole-number value of the /metrics line of the server at `url` that `line` matches (its value the first group). */
async function sampleOf(url: string, name: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  // A regular expression, not the strict parser of test/observability: this helper also serves the benchmarks.
  const value = line.exec(text)?.[1];
  if (value === undefined) throw new Error(`no ${name} in ${url}/metrics`);
  return Number(value);
}

/**
 * Texts (windows) the server at `url` has embedded since it started: the sum
 * of its `semcache_embedding_batch_size` histogram.
 *
 * @throws when /metrics has no such sample.
 */
export function textsEmbedded(url: string): Promise<number> {
  return sampleOf(url, "semcache_embedding_batch_size_sum", /^semcache_embedding_batch_size_sum(?:\{[^}]*\})? (\d+)$/m);
}

/**
 * `semcache_embeddings_reused_total` of the server at `url`: embeddings it reused instead of running the model.
 *
 * @throws when /metrics has no such sample.
 */
export function embeddingsReused(url: string): Promise<number> {
  return sampleOf(url, "semcache_embeddings_reused_total", /^semcache_embeddings_reused_total (\d+)$/m);
}
