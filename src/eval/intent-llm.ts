/**
 * A tiny OpenAI-compatible chat server that answers by a rule, for the
 * online evaluation (and tests): `answer(messages)` gives the reply to each
 * request, so an evaluation knows exactly which cached answers are right.
 * It listens on 127.0.0.1 on a free port and speaks what semcache's LLM
 * client uses: POST /v1/chat/completions (JSON, or SSE with `stream: true`)
 * and GET /v1/models.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One chat message as the server receives it. */
export interface RuleChatMessage {
  readonly role: string;
  readonly content: string;
}

/** A running rule-answering LLM server. */
export interface IntentLlm {
  /** Base URL with the version path, for SEMCACHE_LLM_BASE_URL. */
  readonly url: string;
  /** Chat requests answered so far. */
  calls(): number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function messagesOf(body: unknown): RuleChatMessage[] {
  const raw = (body as { messages?: unknown }).messages;
  if (!Array.isArray(raw)) return [];
  return raw.map((m: { role?: unknown; content?: unknown }) => ({
    role: typeof m.role === "string" ? m.role : "",
    content: typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? ""),
  }));
}

/** Rough token count, for usage figures (words). */
const tokens = (text: string): number => text.split(/\s+/u).filter(Boolean).length;

/** Starts the server; `answer` is called once per chat request. */
export async function startIntentLlm(answer: (messages: readonly RuleChatMessage[]) => string): Promise<IntentLlm> {
  let calls = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (req.method === "GET" && path === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [{ id: "intent-llm", object: "model" }] }));
      return;
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error" } }));
      return;
    }
    readJson(req).then(
      (body) => {
        calls++;
        const messages = messagesOf(body);
        const text = answer(messages);
        const model = typeof (body as { model?: unknown }).model === "string" ? (body as { model: string }).model : "intent-llm";
        const usage = { prompt_tokens: tokens(messages.map((m) => m.content).join(" ")), completion_tokens: tokens(text) };
        const base = { id: `chatcmpl-${calls}`, created: Math.floor(Date.now() / 1000), model };
        if ((body as { stream?: unknown }).stream === true) {
          res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
          const send = (payload: unknown): boolean => res.write(`data: ${JSON.stringify(payload)}\n\n`);
          send({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: text }, finish_reason: null }] });
          send({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
          send({ ...base, object: "chat.completion.chunk", choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
          res.end("data: [DONE]\n\n");
          return;
        }
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            ...base,
            object: "chat.completion",
            choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
            usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
          }),
        );
      },
      (error: unknown) => {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: String(error), type: "invalid_request_error" } }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
