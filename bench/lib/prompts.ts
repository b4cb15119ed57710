/**
 * Deterministic prompts for the benchmark: software questions built from
 * templates (stored entries and their rewordings), cooking/garden questions
 * from another vocabulary (lookups that should miss), and train questions
 * (what background load stores), with the lists the load phases send. No
 * numbers in them, so the guard never has a reason to step in.
 */

/** A small, fast, seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller). */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const TEMPLATES = [
  (v: string, o: string, t: string) => `How do I ${v} ${o} in ${t}?`,
  (v: string, o: string, t: string) => `What is the best way to ${v} ${o} with ${t}?`,
  (v: string, o: string, t: string) => `Why does ${t} fail when I try to ${v} ${o}?`,
  (v: string, o: string, t: string) => `Can you explain how to ${v} ${o} using ${t}?`,
  (v: string, o: string, t: string) => `Which settings matter when I ${v} ${o} on ${t}?`,
];
const VERBS = (
  "configure,debug,deploy,monitor,optimize,secure,migrate,back up,restore,test,profile,document,refactor,install,upgrade," +
  "schedule,log,cache,index,compress,validate,serialize,authenticate,paginate,throttle"
).split(",");
const OBJECTS = (
  "a database connection pool,the login page,background jobs,user sessions,API tokens,large file uploads,search queries," +
  "email notifications,a websocket server,image thumbnails,audit logs,feature flags,payment webhooks,a message queue," +
  "the admin dashboard,user permissions,nightly reports,a REST endpoint,static assets,environment secrets,health checks," +
  "a cron task,database indexes,session cookies,error pages,rate limits,a data export,the signup form,push messages," +
  "a reverse proxy,log rotation,a blue green rollout,schema changes,slow queries,memory leaks,TLS certificates," +
  "a GraphQL schema,pagination cursors,retry policies,service discovery"
).split(",");
const TOOLS = (
  "Postgres,Redis,Kubernetes,Docker,Django,Rails,Spring Boot,Express,FastAPI,Terraform,Nginx,Kafka,Elasticsearch," +
  "React,Flask,Laravel,MongoDB,AWS Lambda,Ansible,Grafana"
).split(",");

/** The i-th software prompt; distinct for i below 5 × 25 × 40 × 20 = 100,000. */
export function basePrompt(i: number): string {
  const t = i % TEMPLATES.length;
  const v = Math.floor(i / TEMPLATES.length) % VERBS.length;
  const o = Math.floor(i / (TEMPLATES.length * VERBS.length)) % OBJECTS.length;
  const tool = Math.floor(i / (TEMPLATES.length * VERBS.length * OBJECTS.length)) % TOOLS.length;
  return TEMPLATES[t]!(VERBS[v]!, OBJECTS[o]!, TOOLS[tool]!);
}

/** Spreads n indexes over the whole template space, so n prompts use every word list. */
export function spreadPrompts(n: number, offset = 0): string[] {
  const space = TEMPLATES.length * VERBS.length * OBJECTS.length * TOOLS.length;
  const stride = 7919; // prime, coprime with the space: a permutation
  return Array.from({ length: n }, (_, k) => basePrompt(((k + offset) * stride) % space));
}

/**
 * The endings a rewording may take; the first is the one every benchmark used
 * before there were others. The load phases ({@link lookupQueries}) use the
 * first LOAD_REWORDINGS, sequential latencies ({@link latencyRewordings}) the rest.
 */
const REWORDING_ENDINGS = [
  "any tips",
  "any advice",
  "any ideas",
  "any suggestions",
  "any pointers",
  "any hints",
  "any help",
  "any guidance",
  "any recommendations",
  "any thoughts",
  "any insights",
];

/** How many distinct rewordings {@link rewording} makes of one prompt. */
export const REWORDINGS_PER_PROMPT = REWORDING_ENDINGS.length;

/** Rewordings per stored prompt in {@link lookupQueries}. */
export const LOAD_REWORDINGS = 9;

/** A rewording of a stored prompt: same words, different casing and framing (a semantic, not exact, match). */
export function paraphrase(prompt: string): string {
  return rewording(prompt, 0);
}

/** The `variant`-th rewording of a stored prompt (0 to REWORDINGS_PER_PROMPT - 1): {@link paraphrase} with another ending. */
export function rewording(prompt: string, variant: number): string {
  const ending = REWORDING_ENDINGS[variant];
  if (ending === undefined) throw new RangeError(`there are ${REWORDINGS_PER_PROMPT} rewordings, not ${variant + 1}`);
  return `${prompt.replace(/\?$/, "").toLowerCase()}, ${ending}?`;
}

const COOK = (
  "soup,bread,risotto,curry,pancakes,salad,stew,pasta,omelette,dumplings,pie,tacos,lasagne,chili,paella,waffles,muffins," +
  "scones,quiche,goulash,ramen,sushi,burritos,couscous,falafel,hummus,gnocchi,polenta,crepes,brownies,granola,porridge," +
  "meatballs,casserole,flatbread,fritters,noodles,chowder,gumbo,kebabs,tagine,pilaf,biryani,frittata"
).split(",");
const GARDEN = (
  "tomatoes,roses,basil,lettuce,tulips,strawberries,peppers,orchids,lavender,carrots,cucumbers,daisies,mint,spinach," +
  "sunflowers,blueberries,zucchini,lilies,rosemary,radishes,dahlias,pumpkins,thyme,onions,peonies,raspberries,beans,ferns,parsley,marigolds"
).split(",");
const MISS_TEMPLATES = [
  (a: string, b: string) => `What goes well with ${a} for a family dinner with ${b}?`,
  (a: string, b: string) => `How often should I water ${b} next to my ${a} herbs?`,
  (a: string, b: string) => `Is it easy to make ${a} with ${b} at home for a picnic?`,
  (a: string, b: string) => `When should I plant ${b} for ${a} in a small balcony garden?`,
];

/** How many distinct prompts {@link missPrompt} makes: 4 × 44 × 30 = 5,280. */
export const MISS_PROMPTS = MISS_TEMPLATES.length * COOK.length * GARDEN.length;

/** The i-th prompt of another domain: looked up, never stored, so a semantic miss; distinct for i below MISS_PROMPTS. */
export function missPrompt(i: number): string {
  const t = MISS_TEMPLATES[i % MISS_TEMPLATES.length]!;
  const cook = Math.floor(i / MISS_TEMPLATES.length) % COOK.length;
  const garden = Math.floor(i / (MISS_TEMPLATES.length * COOK.length)) % GARDEN.length;
  return t(COOK[cook]!, GARDEN[garden]!);
}

/**
 * The i-th prompt of a third domain (trains), distinct by a letters-only
 * code: what background load stores, so that no rewording or miss the
 * benchmarks look up afterwards finds it.
 */
export function storeOnlyPrompt(i: number): string {
  return `Which platform does the ${letters(i)} train to the coast leave from on weekends?`;
}

/** Letters-only code of a number ("variant qx"): makes prompts distinct without adding a number the guard would read. */
export function letters(n: number): string {
  let s = "";
  let x = n;
  do {
    s = String.fromCharCode(97 + (x % 26)) + s;
    x = Math.floor(x / 26);
  } while (x > 0);
  return s;
}

/**
 * The semantic lookups the load benchmarks send, alternately rewordings of
 * `stored` and other-domain misses, with no prompt twice: every rewording of
 * every stored prompt, then the next ending (LOAD_REWORDINGS of them), with
 * misses 0 to LOAD_REWORDINGS × stored.length - 1. Taken in turn by one
 * {@link PromptCursor} for all of a server's load, a prompt comes back only
 * after 2 × LOAD_REWORDINGS × stored.length others (9,000 for the benchmarks'
 * 500 stored), more than the server's memo of recent embeddings keeps (4,096
 * by default) from 228 stored on (the full run stores 500, `--quick` 250):
 * every lookup runs the model, as a new prompt's does, with the memo at its
 * default.
 *
 * @throws RangeError when `stored` is too large for distinct misses.
 */
export function lookupQueries(stored: readonly string[]): string[] {
  checkMissRoom(stored.length, 0);
  return Array.from({ length: LOAD_REWORDINGS }, (_, variant) =>
    stored.flatMap((prompt, i) => [rewording(prompt, variant), missPrompt(variant * stored.length + i)]),
  ).flat();
}

/**
 * Rewordings of `stored` that {@link lookupQueries} never sends (its other
 * endings), for sequential latencies on a server that also takes load:
 * none of them is in the memo of recent embeddings.
 */
export function latencyRewordings(stored: readonly string[]): string[] {
  return Array.from({ length: REWORDINGS_PER_PROMPT - LOAD_REWORDINGS }, (_, k) => stored.map((prompt) => rewording(prompt, LOAD_REWORDINGS + k))).flat();
}

/**
 * `count` misses that {@link lookupQueries} of `storedCount` prompts never
 * sends, for sequential latencies on a server that also takes load.
 *
 * @throws RangeError when there are not that many.
 */
export function latencyMisses(storedCount: number, count: number): string[] {
  checkMissRoom(storedCount, count);
  return Array.from({ length: count }, (_, k) => missPrompt(LOAD_REWORDINGS * storedCount + k));
}

function checkMissRoom(storedCount: number, extra: number): void {
  if (storedCount * LOAD_REWORDINGS + extra > MISS_PROMPTS) {
    throw new RangeError(`there are ${MISS_PROMPTS} distinct misses: not enough for ${storedCount} stored prompts' load and ${extra} more`);
  }
}

/**
 * Hands out prompts in turn, round and round, to every phase of a run that
 * shares one server (and so its memo of recent embeddings): a phase that
 * started over from the first prompt would send what the phase before it
 * had just sent.
 */
export class PromptCursor {
  private next = 0;

  constructor(
    /** The prompts handed out. */
    readonly prompts: readonly string[],
  ) {}

  /** The next prompt. */
  take(): string {
    return this.prompts[this.next++ % this.prompts.length]!;
  }

  /** Where the next prompt is taken from (an index that keeps growing), for a load generator that reads `prompts` itself. */
  get position(): number {
    return this.next;
  }

  /** Moves on by `count` prompts that someone else (a load generator) took from {@link position}. */
  advance(count: number): void {
    this.next += count;
  }
}
