import { describe, expect, it } from "vitest";
import { ErrorBudgetLedger, SAVINGS_WINDOW } from "../../src/verify/error-budget.js";
import { checkErrorBudget } from "../../src/verify/budget.js";
import { SemcacheError } from "../../src/errors/index.js";

describe("error budget ledger", () => {
  it("an answer bounded by the budget always fits in its own request's earnings", () => {
    const ledger = new ErrorBudgetLedger();
    for (let i = 0; i < 100; i++) {
      ledger.earn("ns", 0.02);
      expect(ledger.trySpend("ns", 0.02, 0.02)).toBe(true);
    }
    expect(ledger.available("ns", 0.02)).toBeLessThan(1e-9);
  });

  it("keeps spent ≤ budget × requests at every moment, whatever is asked", () => {
    const ledger = new ErrorBudgetLedger();
    let spent = 0;
    let seed = 3;
    for (let requests = 1; requests <= 5000; requests++) {
      ledger.earn("ns", 0.05);
      seed = (seed * 1664525 + 1013904223) >>> 0;
      const u = (seed / 2 ** 32) * 0.6;
      if (ledger.trySpend("ns", 0.05, u)) spent += u;
      expect(spent).toBeLessThanOrEqual(0.05 * requests + 1e-9);
    }
    expect(spent).toBeGreaterThan(0.05 * 5000 * 0.9); // and it does use what it earns
  });

  it("saves up at most budget × SAVINGS_WINDOW", () => {
    const ledger = new ErrorBudgetLedger();
    for (let i = 0; i < SAVINGS_WINDOW * 3; i++) ledger.earn("ns", 0.01);
    expect(ledger.available("ns", 0.01)).toBeCloseTo(0.01 * SAVINGS_WINDOW, 9);
  });

  it("keeps one account per namespace and budget, and forgets a namespace", () => {
    const ledger = new ErrorBudgetLedger();
    ledger.earn("a", 0.02);
    ledger.earn("a", 0.05);
    ledger.earn("b", 0.02);
    expect(ledger.trySpend("a", 0.02, 0.03)).toBe(false); // not the 0.05 account's savings
    expect(ledger.available("a", 0.05)).toBeCloseTo(0.05, 12);
    ledger.forget("a");
    expect(ledger.available("a", 0.05)).toBe(0);
    expect(ledger.available("b", 0.02)).toBeCloseTo(0.02, 12);
    ledger.forget();
    expect(ledger.available("b", 0.02)).toBe(0);
  });

  it("is bounded: the least recently used account goes first", () => {
    const ledger = new ErrorBudgetLedger(2);
    ledger.earn("a", 0.1);
    ledger.earn("b", 0.1);
    ledger.earn("a", 0.1);
    ledger.earn("c", 0.1);
    expect(ledger.available("b", 0.1)).toBe(0);
    expect(ledger.available("a", 0.1)).toBeCloseTo(0.2, 12);
  });
});

describe("checkErrorBudget", () => {
  it("accepts (0, 1) and rounds a float32 from the wire to the configured value", () => {
    expect(checkErrorBudget("max_error_rate", Math.fround(0.02))).toBe(0.02);
    expect(checkErrorBudget("max_error_rate", 0.5)).toBe(0.5);
  });

  it.each([0, 1, -0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses %s as invalid_argument naming the field", (value) => {
    try {
      checkErrorBudget("max_error_rate", value);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SemcacheError);
      expect((error as SemcacheError).code).toBe("invalid_argument");
      expect((error as SemcacheError).field).toBe("max_error_rate");
      expect((error as SemcacheError).message).toMatch(/^max_error_rate: must be a number strictly between 0 and 1/);
    }
  });
});
