/**
 * The error budget's ledger: how much risk of wrong answers a namespace has
 * earned and spent, per budget.
 *
 * The promise is about a share of requests: at most `budget` of the requests
 * made with that budget should get a wrong cached answer. Every request
 * earns `budget` (exact hits and LLM answers included, which are never
 * wrong cached answers), and serving a semantic candidate spends its upper
 * bound `u` on P(wrong). A candidate is served only when its `u` fits in
 * what is left. So at every moment
 *
 *     Σ u over served answers  ≤  budget × requests,
 *
 * and since each `u` bounds its answer's chance of being wrong, the expected
 * number of wrong cached answers is at most budget × requests: the realised
 * error rate is at most the budget in expectation, from the first request
 * on. Serving only answers with `u ≤ budget` is the special case that never
 * saves anything up; the ledger is less conservative because requests that
 * cannot be wrong (exact hits, misses) leave room that a few useful, slightly
 * riskier hits may use.
 *
 * Two limits keep the savings from being abused: at most `budget ×
 * SAVINGS_WINDOW` is ever saved (so a long quiet spell cannot pay for a
 * burst of guesses), and the decision never offers an answer it estimates
 * more likely wrong than right (decision.ts, `MAX_POINT_WRONG`), however
 * much is saved.
 *
 * Accounts are kept in memory per (namespace, budget), at most
 * `maxAccounts` of them (least recently used dropped first); a dropped or
 * restarted account starts from nothing, which is the cautious side.
 */

/** Requests' worth of budget an account may save up. */
export const SAVINGS_WINDOW = 1000;

/** Per-(namespace, budget) accounts of earned and spent risk. */
export class ErrorBudgetLedger {
  private readonly accounts = new Map<string, number>();

  constructor(private readonly maxAccounts = 4096) {}

  /** Counts one request made with `budget` in `namespace`: it earns `budget`. */
  earn(namespace: string, budget: number): void {
    const key = accountKey(namespace, budget);
    const saved = this.accounts.get(key) ?? 0;
    this.accounts.delete(key);
    this.accounts.set(key, Math.min(saved + budget, budget * SAVINGS_WINDOW));
    if (this.accounts.size > this.maxAccounts) this.accounts.delete(this.accounts.keys().next().value!);
  }

  /** What the account can spend now. */
  available(namespace: string, budget: number): number {
    return this.accounts.get(accountKey(namespace, budget)) ?? 0;
  }

  /** Spends `upperBound` if the account has that much; returns whether the answer may be served. */
  trySpend(namespace: string, budget: number, upperBound: number): boolean {
    const key = accountKey(namespace, budget);
    const saved = this.accounts.get(key) ?? 0;
    // A hair of slack: an answer at exactly the budget must fit in one request's earnings.
    if (upperBound > saved + 1e-12) return false;
    this.accounts.set(key, saved - upperBound);
    return true;
  }

  /** Drops one namespace's accounts, or all. */
  forget(namespace?: string): void {
    if (namespace === undefined) {
      this.accounts.clear();
      return;
    }
    for (const key of [...this.accounts.keys()]) if (key.startsWith(`${namespace}\u0000`)) this.accounts.delete(key);
  }
}

function accountKey(namespace: string, budget: number): string {
  return `${namespace}\u0000${budget}`;
}
