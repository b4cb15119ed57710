/**
 * The Hugging Face `tokenizer.json` (and `tokenizer_config.json`) of
 * bert-base-uncased, which all-MiniLM-L6-v2 uses unchanged. Field order and
 * values follow the file the Rust `tokenizers` library writes for that model,
 * so any loader that reads the real file reads this one the same way.
 */
import { SPECIAL_TOKEN_IDS, type SpecialToken } from "./bert-vocab.js";

/** A token that the tokenizer matches before normalisation and never splits. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

type TemplatePiece =
  | { SpecialToken: { id: string; type_id: number } }
  | { Sequence: { id: "A" | "B"; type_id: number } };

/** The subset of the tokenizer.json schema this builder writes. */
export interface TokenizerJson {
  version: "1.0";
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: {
    type: "BertNormalizer";
    clean_text: boolean;
    handle_chinese_chars: boolean;
    strip_accents: boolean;
    lowercase: boolean;
  };
  pre_tokenizer: { type: "BertPreTokenizer" };
  post_processor: {
    type: "TemplateProcessing";
    single: TemplatePiece[];
    pair: TemplatePiece[];
    special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }>;
  };
  decoder: { type: "WordPiece"; prefix: string; cleanup: boolean };
  model: {
    type: "WordPiece";
    unk_token: string;
    continuing_subword_prefix: string;
    max_input_chars_per_word: number;
    vocab: Record<string, number>;
  };
}

const special = (id: SpecialToken, typeId: number): TemplatePiece => ({ SpecialToken: { id, type_id: typeId } });
const sequence = (id: "A" | "B", typeId: number): TemplatePiece => ({ Sequence: { id, type_id: typeId } });

/** Builds tokenizer.json for a BERT uncased WordPiece vocabulary (index = id). */
export function buildTokenizerJson(vocab: readonly string[]): TokenizerJson {
  const vocabMap: Record<string, number> = {};
  vocab.forEach((token, id) => {
    vocabMap[token] = id;
  });
  // Sorted by id, as the Rust library writes them.
  const addedTokens = (Object.entries(SPECIAL_TOKEN_IDS) as [SpecialToken, number][])
    .sort((x, y) => x[1] - y[1])
    .map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      // The real file has null ("follow lowercase"); true is the same for an
      // uncased model and is what every loader's typings accept.
      strip_accents: true,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)],
      pair: [special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0), sequence("B", 1), special("[SEP]", 1)],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [SPECIAL_TOKEN_IDS["[CLS]"]], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [SPECIAL_TOKEN_IDS["[SEP]"]], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: vocabMap,
    },
  };
}

/**
 * tokenizer_config.json as sentence-transformers/all-MiniLM-L6-v2 ships it.
 * Consumers need not read it (tokenizer.json is complete); it is written so
 * that the fixture directory has the same layout as the real model's.
 */
export function buildTokenizerConfig(): Record<string, unknown> {
  return {
    clean_up_tokenization_spaces: true,
    cls_token: "[CLS]",
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: "[MASK]",
    model_max_length: 512,
    never_split: null,
    pad_token: "[PAD]",
    sep_token: "[SEP]",
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: "BertTokenizer",
    unk_token: "[UNK]",
  };
}
