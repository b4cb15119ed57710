/**
 * The small, curated word lists the hard-negative guard works from. They are
 * deliberately short: each entry is a word whose change flips what a prompt
 * asks while barely moving its embedding.
 */

/** Function words: ignored when judging how much two prompts share, and never entities. */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a an the and or but if then than so as of at by for in on to into onto from with about over under up down out off " +
    "is are was were be been being am do does did doing done have has had having can could should would will shall may " +
    "might must need i me my mine we us our you your yours he him his she her it its they them their this that these " +
    "those there here what which who whom whose when where why how whats what's whens where's hows how's who's " +
    "i'm i've i'd i'll you're it's that's there's let's let some any all each every both either much many more most " +
    "very just also too only even still really please tell give show explain get got make like way ok okay vs versus " +
    "one thing things something anything someone way ways s t"
  ).split(" "),
);

/** Words that negate what follows; a word ending in n't counts too. */
export const NEGATIONS: ReadonlySet<string> = new Set([
  "not",
  "no",
  "never",
  "cannot",
  "without",
  "none",
  "nothing",
  "nobody",
  "neither",
  "nor",
  "nowhere",
  "stop",
  // Contractions typed without the apostrophe.
  "cant",
  "dont",
  "doesnt",
  "didnt",
  "isnt",
  "arent",
  "wasnt",
  "werent",
  "wont",
  "wouldnt",
  "shouldnt",
  "couldnt",
  "havent",
  "hasnt",
  "hadnt",
]);

/**
 * Opposite pairs. Each side lists word forms (matched after lower-casing);
 * a prompt that uses one side and not the other, against a prompt that does
 * the reverse, asks the opposite question.
 */
export const ANTONYMS: readonly (readonly [readonly string[], readonly string[]])[] = [
  [["enable", "enabled", "enabling", "enables", "activate", "activated"], ["disable", "disabled", "disabling", "disables", "deactivate", "deactivated"]],
  [["include", "includes", "including", "included"], ["exclude", "excludes", "excluding", "excluded"]],
  [["allow", "allows", "allowed", "allowing", "permit"], ["block", "blocks", "blocked", "blocking", "deny", "denied", "forbid", "prevent"]],
  [["accept", "accepted", "accepting", "accepts"], ["decline", "declined", "declining", "declines", "reject", "rejected", "refuse"]],
  [["add", "adding", "added", "adds"], ["remove", "removing", "removed", "removes", "delete", "deleting", "deleted"]],
  [["delete", "deleted", "deleting", "deletes"], ["recover", "recovered", "recovering", "restore", "restored", "restoring", "undelete"]],
  [["install", "installed", "installing", "installs"], ["uninstall", "uninstalled", "uninstalling", "uninstalls"]],
  [["subscribe", "subscribed", "subscribing"], ["unsubscribe", "unsubscribed", "unsubscribing"]],
  [["upgrade", "upgraded", "upgrading", "upgrades"], ["downgrade", "downgraded", "downgrading", "downgrades", "cancel", "cancelling", "canceling", "cancelled", "canceled"]],
  [["lock", "locked", "locking"], ["unlock", "unlocked", "unlocking"]],
  [["encrypt", "encrypted", "encrypting", "encryption"], ["decrypt", "decrypted", "decrypting", "decryption"]],
  [["encode", "encoded", "encoding"], ["decode", "decoded", "decoding"]],
  [["compress", "compressed", "compressing", "zip"], ["decompress", "decompressed", "decompressing", "unzip", "extract"]],
  [["serialize", "serialise", "serializing", "serialising", "marshal", "marshaling", "marshalling"], ["deserialize", "deserialise", "deserializing", "deserialising", "unmarshal", "unmarshaling", "unmarshalling"]],
  [["import", "imported", "importing"], ["export", "exported", "exporting"]],
  [["upload", "uploaded", "uploading"], ["download", "downloaded", "downloading"]],
  [["push", "pushed", "pushing"], ["pull", "pulled", "pulling"]],
  [["connect", "connected", "connecting"], ["disconnect", "disconnected", "disconnecting"]],
  [["mount", "mounted"], ["unmount", "unmounted"]],
  [["show", "showing", "unhide"], ["hide", "hiding", "hidden"]],
  [["open", "opened", "opening"], ["close", "closed", "closing"]],
  [["start", "starting", "started", "begin", "beginning", "sign in", "log in"], ["stop", "stopping", "stopped", "end", "ending", "finish", "sign off", "log out", "sign out"]],
  [["join", "joined", "joining", "combine", "combined", "combining", "merge", "merged", "merging", "concatenate"], ["split", "splitting", "separate", "separating", "leave", "leaving"]],
  [["increase", "increased", "increasing", "raise", "raising"], ["decrease", "decreased", "decreasing", "reduce", "reduced", "reducing", "lower", "lowering"]],
  [["more"], ["less", "fewer"]],
  [["maximum", "max", "maximal", "maximize", "maximise"], ["minimum", "min", "minimal", "minimize", "minimise"]],
  [["larger", "largest", "bigger", "biggest", "greater", "higher", "highest", "wider"], ["smaller", "smallest", "lesser", "lower", "lowest", "narrower"]],
  [["hot", "hotter", "hottest", "warm", "warmer", "warmest", "heat", "heating"], ["cold", "colder", "coldest", "cool", "cooler", "coolest", "cooling", "freezing"]],
  [["before"], ["after"]],
  [["early", "earlier", "earliest"], ["late", "later", "latest"]],
  [["first"], ["last"]],
  [["best"], ["worst"]],
  [["better"], ["worse"]],
  [["strength", "strengths"], ["weakness", "weaknesses"]],
  [["advantage", "advantages", "pro", "pros"], ["disadvantage", "disadvantages", "con", "cons"]],
  [["exact", "exactly"], ["approximate", "approximately", "fuzzy"]],
  [["fast", "faster", "fastest", "quick", "quicker", "quickest"], ["slow", "slower", "slowest"]],
  [["cheap", "cheaper", "cheapest"], ["expensive", "pricier", "priciest"]],
  [["safe", "safely", "safer"], ["unsafe", "dangerous"]],
  [["legal"], ["illegal"]],
  [["valid"], ["invalid"]],
  [["possible"], ["impossible"]],
  [["true"], ["false"]],
  [["positive"], ["negative"]],
  [["success", "successful", "succeed"], ["failure", "fail", "failed", "failing"]],
  [["win", "winning", "won"], ["lose", "losing", "lost"]],
  [["buy", "buying", "bought"], ["sell", "selling", "sold"]],
  [["indoor", "indoors", "inside"], ["outdoor", "outdoors", "outside"]],
  [["local"], ["remote"]],
  [["public"], ["private"]],
  [["ascending", "asc"], ["descending", "desc"]],
  [["uppercase", "upper"], ["lowercase"]],
  [["horizontal", "horizontally"], ["vertical", "vertically"]],
  [["synchronous", "synchronously", "sync"], ["asynchronous", "asynchronously", "async"]],
  [["input", "inputs"], ["output", "outputs"]],
  [["sunrise"], ["sunset"]],
  [["sun"], ["moon"]],
  [["read", "reading", "reads"], ["write", "writing", "writes"]],
  [["keep", "keeping", "kept", "retain", "preserve", "save"], ["discard", "discarding", "throw away", "drop", "lose", "losing"]],
  [["plant", "planting", "sow", "sowing"], ["harvest", "harvesting"]],
  [["summer"], ["winter"]],
  [["day", "daytime"], ["night", "nighttime"]],
  [["wet"], ["dry"]],
  [["north", "northern"], ["south", "southern"]],
  [["east", "eastern"], ["west", "western"]],
  [["odd"], ["even"]],
  [["male"], ["female"]],
  [["solar"], ["lunar"]],
  [["total", "full"], ["partial"]],
  [["conventional"], ["synthetic"]],
  [["shallow", "shallower", "shallowest"], ["deep", "deeper", "deepest"]],
  [["light", "lighter"], ["dark", "darker"]],
  [["brighter"], ["darker"]],
  [["el niño", "el nino"], ["la niña", "la nina"]],
  [["on"], ["off"]],
];

/** Canonical names of well-known entities, matched whatever their case; value: the canonical form. */
export const KNOWN_ENTITIES: ReadonlyMap<string, string> = new Map([
  // Solar system.
  ...["mercury", "venus", "earth", "mars", "jupiter", "saturn", "uranus", "neptune", "pluto"].map((w) => [w, w] as const),
  // Programming languages and runtimes ("go" only when capitalised: it is a verb too).
  ...["python", "rust", "javascript", "typescript", "java", "kotlin", "swift", "ruby", "php", "perl", "haskell", "scala", "elixir", "erlang", "clojure", "lua", "dart", "julia", "fortran", "cobol", "bash", "powershell", "sql", "node", "deno", "bun"].map((w) => [w, w] as const),
  ["golang", "go"],
  ["js", "javascript"],
  ["ts", "typescript"],
  ["py", "python"],
  ["nodejs", "node"],
  ["k8s", "kubernetes"],
  ["kubernetes", "kubernetes"],
  // Platforms and products.
  ...["android", "iphone", "ipad", "ios", "macos", "windows", "linux", "ubuntu", "debian", "chrome", "firefox", "safari", "excel", "docker", "github", "gitlab", "lightroom", "photoshop"].map((w) => [w, w] as const),
  ["osx", "macos"],
  // Countries people name in several ways.
  ["uk", "uk"],
  ["britain", "uk"],
  ["british", "uk"],
  ["usa", "usa"],
  // Days and months.
  ...["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"].map((w) => [w, w] as const),
  ...["january", "february", "march", "april", "june", "july", "august", "september", "october", "november", "december"].map((w) => [w, w] as const),
]);

/** Human languages a prompt may ask the answer to be in. English is left out: it is every prompt's default. */
export const HUMAN_LANGUAGES: ReadonlySet<string> = new Set([
  "spanish", "french", "german", "italian", "portuguese", "dutch", "swedish", "norwegian", "danish", "finnish", "polish",
  "czech", "russian", "ukrainian", "greek", "turkish", "arabic", "hebrew", "hindi", "bengali", "urdu", "chinese",
  "mandarin", "cantonese", "japanese", "korean", "vietnamese", "thai", "indonesian", "malay", "swahili", "latin",
]);

/**
 * The most frequent function words of a few languages, to tell which
 * language a prompt is written in. Words shared between languages are left
 * out of all but one ("a", "de", "que", "en", ...).
 */
export const LANGUAGE_MARKERS: Readonly<Record<string, readonly string[]>> = {
  en: ["the", "is", "are", "how", "what", "why", "when", "does", "do", "can", "should", "my", "i", "of", "and", "to", "with", "it", "this", "for"],
  es: ["el", "la", "los", "las", "es", "qué", "cómo", "cuántas", "cuántos", "cuál", "por", "para", "una", "tiene", "está", "son", "puedo", "hay", "mi", "con", "del"],
  fr: ["le", "les", "est", "une", "des", "comment", "pourquoi", "quel", "quelle", "je", "mon", "avec", "pour", "dans", "du", "au", "sont", "sur", "il", "ce"],
  de: ["der", "die", "das", "ist", "und", "wie", "warum", "ich", "mein", "nicht", "mit", "ein", "eine", "für", "auf", "zu", "den", "dem", "kann", "wird"],
  it: ["il", "gli", "è", "come", "perché", "sono", "della", "nel", "che", "di", "uno", "posso", "ho", "mio"],
  pt: ["o", "os", "é", "não", "como", "por", "que", "uma", "um", "do", "da", "meu", "minha", "tem", "posso", "são"],
};

/** Forms an answer can be asked in; a prompt asking for one of these wants a different answer than one that does not. */
export const FORMATS: ReadonlySet<string> = new Set([
  "limerick", "poem", "haiku", "sonnet", "song", "rap", "story", "table", "list", "tweet", "json", "yaml", "xml", "csv",
  "markdown", "bullet", "bullets", "essay", "script", "dialogue", "letter", "joke", "riddle", "outline", "slogan",
  "emoji", "emojis", "spreadsheet", "diagram", "chart",
]);

/** Output formats that "in" asks for ("in JSON", "in a table"); other forms need "as" or "write" ("as a limerick"). */
export const IN_FORMATS: ReadonlySet<string> = new Set(["json", "yaml", "xml", "csv", "markdown", "table", "bullet", "bullets"]);

/** Units after a number, by the spellings that name them. */
export const UNITS: ReadonlyMap<string, string> = new Map(
  (
    [
      ["mile", ["mile", "miles", "mi"]],
      ["km", ["km", "kms", "kilometer", "kilometers", "kilometre", "kilometres"]],
      ["m", ["meter", "meters", "metre", "metres"]],
      ["cm", ["cm", "centimeter", "centimeters", "centimetre", "centimetres"]],
      ["mm", ["mm", "millimeter", "millimeters", "millimetre", "millimetres"]],
      ["ft", ["ft", "foot", "feet"]],
      ["in", ["inch", "inches"]],
      ["lb", ["lb", "lbs", "pound", "pounds"]],
      ["kg", ["kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"]],
      ["g", ["g", "gram", "grams", "gr"]],
      ["mg", ["mg", "milligram", "milligrams"]],
      ["oz", ["oz", "ounce", "ounces"]],
      ["l", ["l", "liter", "liters", "litre", "litres"]],
      ["ml", ["ml", "milliliter", "milliliters", "millilitre", "millilitres"]],
      ["gal", ["gal", "gallon", "gallons"]],
      ["cup", ["cup", "cups"]],
      ["deg", ["deg", "degree", "degrees", "°"]],
      ["c", ["°c", "celsius", "centigrade"]],
      ["f", ["°f", "fahrenheit"]],
      ["ms", ["ms", "millisecond", "milliseconds"]],
      ["s", ["s", "sec", "secs", "second", "seconds"]],
      ["min", ["min", "mins", "minute", "minutes"]],
      ["h", ["h", "hr", "hrs", "hour", "hours"]],
      ["day", ["day", "days"]],
      ["week", ["wk", "wks", "week", "weeks"]],
      ["month", ["mo", "month", "months"]],
      ["year", ["y", "yr", "yrs", "year", "years"]],
      ["b", ["b", "byte", "bytes"]],
      ["kb", ["kb", "kib", "kilobyte", "kilobytes"]],
      ["mb", ["mb", "mib", "megabyte", "megabytes"]],
      ["gb", ["gb", "gib", "gigabyte", "gigabytes"]],
      ["tb", ["tb", "tib", "terabyte", "terabytes"]],
      ["%", ["%", "percent", "per cent", "pct"]],
      ["usd", ["$", "usd", "dollar", "dollars", "bucks"]],
      ["eur", ["€", "eur", "euro", "euros"]],
      ["gbp", ["£", "gbp"]],
      ["jpy", ["¥", "jpy", "yen"]],
      ["cny", ["cny", "yuan", "renminbi"]],
      ["inr", ["₹", "inr", "rupee", "rupees"]],
      ["krw", ["₩", "krw"]],
      ["rub", ["₽", "rub", "ruble", "rubles", "rouble", "roubles"]],
      ["try", ["₺"]],
      ["ils", ["₪", "shekel", "shekels"]],
      ["ngn", ["₦", "naira"]],
      ["btc", ["₿", "btc", "bitcoin", "bitcoins"]],
      ["cent", ["¢", "cent", "cents"]],
      ["x", ["x"]],
      ["px", ["px", "pixel", "pixels"]],
      ["mph", ["mph"]],
      ["kmh", ["kph", "kmh", "km/h"]],
      ["cal", ["cal", "kcal", "calorie", "calories"]],
    ] as const
  ).flatMap(([unit, spellings]) => spellings.map((s) => [s, unit] as const)),
);

/** Spelled-out numbers ("one" is left out: it is mostly a pronoun, and "a" says the same). */
export const NUMBER_WORDS: ReadonlyMap<string, number> = new Map([
  ["zero", 0], ["two", 2], ["three", 3], ["four", 4], ["five", 5], ["six", 6], ["seven", 7], ["eight", 8], ["nine", 9],
  ["ten", 10], ["eleven", 11], ["twelve", 12], ["thirteen", 13], ["fourteen", 14], ["fifteen", 15], ["sixteen", 16],
  ["seventeen", 17], ["eighteen", 18], ["nineteen", 19], ["twenty", 20], ["thirty", 30], ["forty", 40], ["fifty", 50],
  ["sixty", 60], ["seventy", 70], ["eighty", 80], ["ninety", 90], ["dozen", 12],
]);

/** Multipliers of spelled-out numbers. */
export const NUMBER_SCALES: ReadonlyMap<string, number> = new Map([
  ["hundred", 100],
  ["thousand", 1e3],
  ["million", 1e6],
  ["billion", 1e9],
  ["trillion", 1e12],
]);
