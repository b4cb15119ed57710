/**
 * Word-piece tokenisation from a Hugging Face `tokenizer.json`.
 *
 * The text is encoded once without special tokens so that long texts can be
 * cut into windows first and each window framed with the special tokens
 * afterwards (see windows.ts).
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelLoadError } from "./errors.js";
import { readJsonObject } from "./json-file.js";

/**
 * The part of the library's tokenizer used here. Declared locally because the
 * package's own .d.ts files use extensionless imports that NodeNext cannot
 * resolve, which would leave its types as `any`.
 */
export interface HfTokenizer {
  /** Encodes one text; `ids` are the token ids. */
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  /** The text's tokens as strings ("año?" → ["ano", "?"] for BERT uncased), without special tokens. */
  tokenize(text: string, options: { add_special_tokens: boolean }): string[];
}

const HfTokenizerClass = Tokenizer as unknown as new (tokenizerJson: object, config: object) => HfTokenizer;

/** Tokenises text into ids and knows the special tokens that frame a sequence. */
export interface TextTokenizer {
  /** Token ids of `text` without any special tokens. */
  encode(text: string): number[];
  /**
   * The tokens of `text` as strings, without special tokens: what the model
   * sees of it once the tokenizer has normalised it (lower-cased, accents
   * stripped, unknown words as `[UNK]` for BERT uncased).
   */
  wordPieces(text: string): string[];
  /** Ids placed before every sequence, such as [CLS]. */
  readonly prefixIds: readonly number[];
  /** Ids placed after every sequence, such as [SEP]. */
  readonly suffixIds: readonly number[];
}

/** Loads `tokenizer.json` (and `tokenizer_config.json` beside it, when present). */
export async function loadTokenizer(tokenizerJsonPath: string): Promise<TextTokenizer> {
  const json = await readJsonObject(tokenizerJsonPath, true);
  if (json === undefined || !("model" in json)) {
    throw new ModelLoadError(`${tokenizerJsonPath} is not a tokenizer.json: it has no "model" field.`, {
      kind: "invalid-file",
      path: tokenizerJsonPath,
    });
  }
  // The library requires these keys to exist even when the model has none.
  for (const key of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) {
    if (!(key in json)) json[key] = null;
  }
  if (!Array.isArray(json["added_tokens"])) json["added_tokens"] = [];
  const configPath = tokenizerJsonPath.replace(/tokenizer\.json$/, "tokenizer_config.json");
  const config = configPath === tokenizerJsonPath ? {} : ((await readJsonObject(configPath, false)) ?? {});

  try {
    return wrapTokenizer(new HfTokenizerClass(json, config));
  } catch (cause) {
    throw new ModelLoadError(`Could not build a tokenizer from ${tokenizerJsonPath}: ${String(cause)}.`, {
      kind: "invalid-file",
      path: tokenizerJsonPath,
      cause,
    });
  }
}

/** Adapts a library tokenizer; exported for tests that build one in memory. */
export function wrapTokenizer(tokenizer: HfTokenizer): TextTokenizer {
  const { prefixIds, suffixIds } = specialFrame(tokenizer);
  return {
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
    wordPieces: (text) => tokenizer.tokenize(text, { add_special_tokens: false }),
    prefixIds,
    suffixIds,
  };
}

/**
 * Finds the special tokens around a single sequence by encoding a probe with
 * and without them, so that any post-processor (BERT, template, none) works
 * without knowing its token names.
 */
function specialFrame(tokenizer: HfTokenizer): { prefixIds: number[]; suffixIds: number[] } {
  const probe = "hello world";
  const bare = tokenizer.encode(probe, { add_special_tokens: false }).ids;
  const framed = tokenizer.encode(probe, { add_special_tokens: true }).ids;
  for (let start = 0; start + bare.length <= framed.length; start++) {
    if (bare.every((id, i) => framed[start + i] === id)) {
      return { prefixIds: framed.slice(0, start), suffixIds: framed.slice(start + bare.length) };
    }
  }
  throw new Error("The tokenizer's post-processor changes the text's own tokens; windows cannot be framed.");
}
