/**
 * Deterministic prompts for the benchmark: software questions built from
 * templates (stored entries and their paraphrases), and cooking/garden
 * questions from another vocabulary (lookups that should miss). No numbers
 * in them, so the guard never has a reason to step in.
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

/** A rewording of a stored prompt: same words, different casing and framing (a semantic, not exact, match). */
export function paraphrase(prompt: string): string {
  return `${prompt.replace(/\?$/, "").toLowerCase()}, any tips?`;
}

const COOK = "soup,bread,risotto,curry,pancakes,salad,stew,pasta,omelette,dumplings,pie,tacos".split(",");
const GARDEN = "tomatoes,roses,basil,lettuce,tulips,strawberries,peppers,orchids,lavender,carrots".split(",");
const MISS_TEMPLATES = [
  (a: string, b: string) => `What goes well with ${a} for a family dinner with ${b}?`,
  (a: string, b: string) => `How often should I water ${b} next to my ${a} herbs?`,
  (a: string, b: string) => `Is it easy to make ${a} at home for a picnic?`,
  (a: string, b: string) => `When should I plant ${b} in a small balcony garden?`,
];

/** The i-th prompt of another domain: looked up, never stored, so a semantic miss. */
export function missPrompt(i: number): string {
  const t = MISS_TEMPLATES[i % MISS_TEMPLATES.length]!;
  return `${t(COOK[Math.floor(i / 4) % COOK.length]!, GARDEN[Math.floor(i / 48) % GARDEN.length]!)}`;
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
