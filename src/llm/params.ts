/**
 * Which scope params reach the LLM. A scope's params are free-form text (they
 * partition the cache), so only names the chat API knows, with values it
 * would accept, are forwarded; anything else would make upstream reject the
 * whole call for what is, to semcache, just part of a cache key.
 */

/** The sampling params `pickLlmParams` may forward, as sent to the chat API. */
export interface LlmSamplingParams {
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
}

type Check = (value: number) => boolean;

const isWhole: Check = (value) => Number.isSafeInteger(value);
const inRange =
  (min: number, max: number): Check =>
  (value) => value >= min && value <= max;

// Ranges are the OpenAI API's; other servers accept at least these.
const KNOWN: Record<keyof LlmSamplingParams, Check> = {
  temperature: inRange(0, 2),
  top_p: inRange(0, 1),
  max_tokens: (v) => isWhole(v) && v >= 1,
  max_completion_tokens: (v) => isWhole(v) && v >= 1,
  seed: isWhole,
  presence_penalty: inRange(-2, 2),
  frequency_penalty: inRange(-2, 2),
};

/** The forwarded params, and the names of those that were not (for logging). */
export interface PickedParams {
  readonly params: LlmSamplingParams;
  /** Params present but not forwarded: unknown names or invalid values. */
  readonly ignored: readonly string[];
}

/**
 * Picks the well-known numeric sampling params with valid values out of a
 * scope's params. Unknown names and bad values are ignored rather than
 * rejected, since scope params also carry things like a prompt version.
 */
export function pickLlmParams(params: Readonly<Record<string, string>> | undefined): PickedParams {
  const picked: Record<string, number> = {};
  const ignored: string[] = [];
  for (const [name, raw] of Object.entries(params ?? {})) {
    const check = Object.hasOwn(KNOWN, name) ? KNOWN[name as keyof LlmSamplingParams] : undefined;
    // Number("") is 0, so blank text must be refused explicitly.
    const value = raw.trim() === "" ? Number.NaN : Number(raw.trim());
    if (check !== undefined && Number.isFinite(value) && check(value)) picked[name] = value;
    else ignored.push(name);
  }
  return { params: picked as LlmSamplingParams, ignored };
}
