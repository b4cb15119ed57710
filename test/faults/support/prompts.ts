/**
 * Distinct prompts with distinct embeddings, many of them.
 *
 * The fixture model embeds words, not digits, so "store 1" and "store 2"
 * get bit-identical vectors; hundreds of identical vectors in one scope are
 * both unrealistic and a known weak spot of HNSW graphs (the entries around
 * them become unreachable). Every prompt here gets its own three words (one
 * from each list, by the digits of its number in base 24), so no two share a
 * bag of words; none of the words is near "capital", "city" or a country,
 * which the tests use as semantic anchors.
 */
const FIRST: readonly string[] = ["amber", "brisk", "copper", "dusty", "eager", "frosty", "gentle", "hollow", "icy", "jolly", "knotty", "leafy", "mellow", "nimble", "oaken", "plush", "quiet", "rusty", "sandy", "tidy", "velvet", "windy", "woolly", "zesty"];
const SECOND: readonly string[] = ["badger", "canoe", "dolphin", "falcon", "giraffe", "hammock", "igloo", "jaguar", "kayak", "lobster", "mango", "napkin", "otter", "parrot", "quilt", "raccoon", "saddle", "teapot", "umbrella", "violin", "walrus", "yacht", "zebra", "walnut"];
const THIRD: readonly string[] = ["bakes", "climbs", "dances", "folds", "giggles", "hums", "juggles", "knits", "laughs", "mumbles", "naps", "paints", "quacks", "rows", "sings", "tumbles", "whistles", "yawns", "sneezes", "wobbles", "skates", "bounces", "snores", "swims"];

/** Three words unique to `n` (for n below 24³ = 13,824). */
export function wordsFor(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= FIRST.length * SECOND.length * THIRD.length) throw new RangeError(`no unique words for ${n}`);
  const a = n % FIRST.length;
  const b = Math.floor(n / FIRST.length) % SECOND.length;
  const c = Math.floor(n / (FIRST.length * SECOND.length)) % THIRD.length;
  return `${FIRST[a]} ${SECOND[b]} ${THIRD[c]}`;
}

const COMBINATIONS = FIRST.length * SECOND.length * THIRD.length;

/** A counter of unique prompt numbers, so prompts made in different places never share words. */
export class PromptCounter {
  private next = 0;

  /**
   * `spread`: consecutive prompts differ in all three words rather than in
   * one, for tests where distinct prompts must not be near-duplicates (Ask's
   * single-flight joins a similar prompt in flight). 601 = 1 + 24 + 24²,
   * coprime with 24³, so every prompt stays unique.
   */
  constructor(private readonly options: { readonly spread?: boolean } = {}) {}

  /** A prompt unique to this counter: `label` (for the reader) and three unique words. */
  prompt(label: string): string {
    const n = this.next++;
    return `${label}: the ${wordsFor(this.options.spread === true ? (n * 601) % COMBINATIONS : n)}`;
  }
}
