import { parseArgs } from "node:util";
import { addKeyToFile, generateApiKey, hashApiKey, KeyFileError, ROLES, type KeyFileEntry, type Role } from "../auth/index.js";

/** Usage of `semcache keys`, also part of `semcache --help`. */
export const KEYS_USAGE = [
  "  semcache keys add --file FILE --id ID --role user|admin|metrics [--namespaces NS,PREFIX/*]",
  "                    [--default-namespace NS] [--rps N --burst N] [--description TEXT]",
  "                               (the default namespace is the first exact one listed, unless given)",
  "                               create a key, add its hash to FILE, print the key (shown only this once)",
  "  semcache keys hash           read a key on standard input, print its SHA-256 for the key file",
].join("\n");

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

/**
 * The namespace a new key serves requests that name none: the first exact
 * namespace listed. Without it a key of `team-a,team-a/*` would fall back to
 * "default", which it is not granted, so its every call without a namespace
 * would be refused. A single namespace needs nothing: the key ring uses it.
 */
function defaultNamespaceOf(namespaces: readonly string[] | undefined): string | undefined {
  if (namespaces === undefined || namespaces.length < 2) return undefined;
  return namespaces.find((namespace) => !namespace.endsWith("*"));
}

async function add(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      file: { type: "string" },
      id: { type: "string" },
      role: { type: "string" },
      namespaces: { type: "string" },
      "default-namespace": { type: "string" },
      rps: { type: "string" },
      burst: { type: "string" },
      description: { type: "string" },
    },
    strict: true,
  });
  if (values.file === undefined || values.id === undefined || values.role === undefined) {
    process.stderr.write(`semcache keys add: --file, --id and --role are required\n${KEYS_USAGE}\n`);
    return 2;
  }
  if (!(ROLES as readonly string[]).includes(values.role)) {
    process.stderr.write(`semcache keys add: --role must be one of ${ROLES.join(", ")}\n`);
    return 2;
  }
  if ((values.rps === undefined) !== (values.burst === undefined)) {
    process.stderr.write("semcache keys add: give --rps and --burst together\n");
    return 2;
  }
  const key = generateApiKey();
  const namespaces = values.namespaces?.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const defaultNamespace = values["default-namespace"] ?? defaultNamespaceOf(namespaces);
  const entry: KeyFileEntry = {
    id: values.id,
    sha256: hashApiKey(key).toString("hex"),
    role: values.role as Role,
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(defaultNamespace === undefined ? {} : { defaultNamespace }),
    ...(values.rps === undefined ? {} : { rateLimit: { requestsPerSecond: Number(values.rps), burst: Number(values.burst) } }),
    ...(values.description === undefined ? {} : { description: values.description }),
  };
  try {
    await addKeyToFile(values.file, entry);
  } catch (error) {
    process.stderr.write(`semcache keys add: ${error instanceof KeyFileError ? error.message : String(error)}\n`);
    return 1;
  }
  process.stdout.write(`${key}\n`);
  const servedIn = defaultNamespace === undefined ? "" : `, serving requests without a namespace in ${JSON.stringify(defaultNamespace)}`;
  process.stderr.write(`added key ${JSON.stringify(values.id)} (${values.role}${servedIn}) to ${values.file}; the key above is not stored anywhere: keep it now\n`);
  return 0;
}

/** `semcache keys add|hash`; resolves with the exit code. */
export async function keysCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === "add") return await add(rest);
    if (sub === "hash") {
      const key = await readStdin();
      if (key === "") {
        process.stderr.write("semcache keys hash: no key on standard input\n");
        return 2;
      }
      process.stdout.write(`${hashApiKey(key).toString("hex")}\n`);
      return 0;
    }
  } catch (error) {
    // parseArgs' own errors (unknown or valueless options) say what is wrong.
    process.stderr.write(`semcache keys ${sub}: ${(error as Error).message}\n`);
    return 2;
  }
  process.stderr.write(`semcache keys: unknown subcommand ${JSON.stringify(sub ?? "")}\n${KEYS_USAGE}\n`);
  return 2;
}
