import { describe, expect, it } from "vitest";
import { normalizeInline, normalizePrompt } from "../../src/cache/normalize.js";
import { resolveScope } from "../../src/cache/scope.js";
import { conversationKey } from "../../src/ask/conversation.js";

describe("normalizePrompt", () => {
  it("normalises a one-line prompt as before: NFC, trimmed, runs of white space collapsed", () => {
    expect(normalizePrompt("  What  is\tthe capital\u00a0of France? ")).toBe("What is the capital of France?");
    expect(normalizePrompt("cafe\u0301")).toBe("café");
  });

  it("keeps line breaks and indentation, so code keeps its meaning", () => {
    const inside = normalizePrompt("for item in items:\n    save(item)");
    const outside = normalizePrompt("for item in items:\nsave(item)");
    expect(inside).toBe("for item in items:\n    save(item)");
    expect(outside).toBe("for item in items:\nsave(item)");
    expect(inside).not.toBe(outside);
  });

  it("drops what carries no meaning: CR, trailing spaces, outer and repeated blank lines, shared indentation, spaces inside a line", () => {
    const messy = "\r\n\r\n    def f(x):  \r\n        return   x\t+ 1   \r\n\r\n\r\n\r\n    print(f(2))\r\n\r\n";
    expect(normalizePrompt(messy)).toBe("def f(x):\n    return x + 1\n\nprint(f(2))");
    expect(normalizePrompt("a\u2028b")).toBe("a\nb");
  });
});

describe("one normalisation for scopes and conversations", () => {
  it("scope params ignore layout entirely", () => {
    expect(normalizeInline(" be\n  brief ")).toBe("be brief");
    const a = resolveScope({ params: { system: "Be brief.\nAnswer in English." } });
    const b = resolveScope({ params: { system: "Be brief.  Answer in English." } });
    expect(a.scopeKey).toBe(b.scopeKey);
  });

  it("earlier turns keep their code's indentation: a different program is a different conversation", () => {
    const turns = (code: string) => [{ role: "user" as const, content: code }, { role: "assistant" as const, content: "OK." }];
    expect(conversationKey(turns("for x in xs:\n    save(x)"))).not.toBe(conversationKey(turns("for x in xs:\nsave(x)")));
    expect(conversationKey(turns("for x in xs:\n    save(x)  "))).toBe(conversationKey(turns("for x in xs:\r\n    save(x)")));
  });
});
