/**
 * Which entry answered which prompt lately, so Feedback can tell a served
 * answer judged wrong (counted as served_then_judged_wrong) from a verdict
 * on a candidate that was never served. In memory, bounded (least recently
 * served dropped first): a verdict on an answer served long ago, or before a
 * restart, is still recorded, just not counted as "served".
 */
export class ServedLog {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  /** Notes that `entryId` answered the (normalised) prompt. */
  served(entryId: string, normalizedPrompt: string): void {
    const key = `${entryId}\n${normalizedPrompt}`;
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value!);
  }

  /** Whether `entryId` answered the prompt lately. */
  wasServed(entryId: string, normalizedPrompt: string): boolean {
    return this.keys.has(`${entryId}\n${normalizedPrompt}`);
  }
}
