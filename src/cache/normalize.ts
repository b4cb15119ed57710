/**
 * Normalises a prompt for matching: Unicode NFC, trimmed, every run of white
 * space collapsed to one space. Two prompts that normalise alike are the same
 * prompt to the cache (the exact layer) and are embedded identically.
 */
export function normalizePrompt(prompt: string): string {
  return prompt.normalize("NFC").replace(/\s+/gu, " ").trim();
}
