/**
 * What a running server's model has embedded, read from its /metrics: for
 * tests and benchmarks that check whether a call ran the model.
 */

/**
 * Texts (windows) the server at `url` has embedded since it started: the sum
 * of its `semcache_embedding_batch_size` histogram.
 *
 * @throws when /metrics has no such sample.
 */
export async function textsEmbedded(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  // A regular expression, not a full parser: prom-client writes NaN as "Nan" in gauges
  // that have no samples yet, which a strict exposition-format parser refuses.
  const sum = /^semcache_embedding_batch_size_sum(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1];
  if (sum === undefined) throw new Error(`no semcache_embedding_batch_size_sum in ${url}/metrics`);
  return Number(sum);
}

/** `semcache_embeddings_reused_total` of the server at `url`: embeddings it reused instead of running the model. */
export async function embeddingsReused(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = /^semcache_embeddings_reused_total (\d+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error(`no semcache_embeddings_reused_total in ${url}/metrics`);
  return Number(value);
}
