/**
 * Issue 18 item 3: different prompts served as "identical". Stores one
 * prompt of each pair and looks up the other with a user key: pairs the
 * tokenizer folds into the same token ids (accents, emoji read as [UNK],
 * white space in code), the same long document with another instruction,
 * and numbers and symbols the guard once read only as ASCII digits. Held
 * when no lookup is served the other prompt's answer, while a reworded
 * paraphrase still is, and the server stays responsive.
 */
import type { Attack } from "../attack.js";

const DOCUMENT = Array.from({ length: 60 }, (_, i) => {
  const names = ["Alice", "Bruno", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivan", "Jun"];
  const cities = ["Lisbon", "Oslo", "Denver", "Kyoto", "Lagos", "Quito"];
  return `Customer ${names[i % 10]} from ${cities[i % 6]} ordered ${((i * 7) % 23) + 2} chairs on day ${i + 1}.`;
}).join(" ");

/** [stored, looked up]: each must miss. */
export const DIFFERENT_PAIRS: readonly (readonly [string, string])[] = [
  ["¿Cuántos días tiene un ano?", "¿Cuántos días tiene un año?"],
  ["Ich möchte bar zählen", "Ich möchte bar zahlen"],
  ["Is 🍄 safe to eat?", "Is ☠️ safe to eat?"],
  ["✅", "❌"],
  ["for item in items:\n    save(item)", "for item in items:\nsave(item)"],
  [`${DOCUMENT}\n\nSummarize the document above.`, `${DOCUMENT}\n\nDelete all the data described above.`],
  ["What is the derivative of x²?", "What is the derivative of x³?"],
  ["Add ½ cup of sugar to the dough", "Add ¾ cup of sugar to the dough"],
  ["Is £5 a fair price for a coffee?", "Is ¥5 a fair price for a coffee?"],
  ["Stock price ↑ after earnings: why?", "Stock price ↓ after earnings: why?"],
  ["Is 7 > 5?", "Is 7 < 5?"],
];

/** [stored, looked up]: each must still hit. */
export const SAME_PAIRS: readonly (readonly [string, string])[] = [
  ["What is the capital of France?", "what is the capital of france?"],
  [`${DOCUMENT}\n\nSummarize the document above.`, `${DOCUMENT}\n\nGive me a summary of the document above.`],
];

// Low enough that the embeddings alone call every pair a match: only the text can tell them apart.
const MIN_SIMILARITY = 0.5;

export const attack: Attack = {
  name: "different prompts served as identical",
  item: 3,
  async run({ launch }) {
    const target = await launch();
    const call = async (method: string, body: object): Promise<Record<string, unknown>> => {
      const response = await fetch(`${target.url}/semcache.v1.SemanticCacheService/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${target.userKey}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const json = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${method}: HTTP ${response.status} ${JSON.stringify(json)}`);
      return json;
    };
    const served = async (pairs: readonly (readonly [string, string])[], tag: string): Promise<{ hits: number; similarities: number[] }> => {
      let hits = 0;
      const similarities: number[] = [];
      for (const [i, [stored, query]] of pairs.entries()) {
        const scope = { namespace: "tenant-a", model: `${tag}-${i}` };
        await call("Store", { prompt: stored, response: `answer ${i}`, scope });
        const result = await call("Lookup", { prompt: query, scope, minSimilarity: MIN_SIMILARITY });
        similarities.push(Number(result["similarity"] ?? 0));
        if (result["hit"] === true) hits++;
      }
      return { hits, similarities };
    };
    const wrong = await served(DIFFERENT_PAIRS, "different");
    const right = await served(SAME_PAIRS, "same");
    const probe = await target.probe(2_000);
    const responsive = probe.lookupMs <= 2_000 && probe.healthzMs <= 2_000;
    const held = wrong.hits === 0 && right.hits === SAME_PAIRS.length && responsive;
    const lowest = Math.min(...wrong.similarities);
    return {
      held,
      detail:
        `${wrong.hits}/${DIFFERENT_PAIRS.length} different pairs served (similarities ${lowest.toFixed(3)}–1.000), ` +
        `${right.hits}/${SAME_PAIRS.length} paraphrases served, probe lookup ${probe.lookupMs.toFixed(0)} ms, healthz ${probe.healthzMs.toFixed(0)} ms`,
    };
  },
};
