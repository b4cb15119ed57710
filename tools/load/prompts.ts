/**
 * Prompts of the load test. Stores use the benchmark's software questions
 * (bench/lib/prompts.ts), lookups that should miss use its cooking and garden
 * questions (never stored), and Ask misses use questions built from four
 * words of a list of concrete nouns.
 *
 * Why a second kind of question for Ask: the fixture model's similarities are
 * word-vector ones, and two software questions from the same template share
 * most of their words, so a "new" one is usually a semantic hit of a stored
 * one (about 80% at 0.9 against 1,500 stored, measured). Four nouns drawn from
 * 210 share little with any earlier question (2 in 1,500 reached 0.9), so an
 * Ask of a new one really goes to the LLM.
 */
import { basePrompt, letters, paraphrase } from "../../bench/lib/prompts.js";

export { missPrompt } from "../../bench/lib/prompts.js";

/** Distinct software prompts in the benchmark's template space. */
const SOFTWARE_SPACE = 100_000;
/** Prime and coprime with the spaces below, so consecutive indexes land far apart. */
const STRIDE = 7919;

/**
 * The k-th prompt a Store writes: distinct for every k (past the template
 * space a letters-only variant suffix keeps them apart without adding a
 * number, which the guard would read).
 */
export function storePrompt(k: number): string {
  const prompt = basePrompt((k * STRIDE) % SOFTWARE_SPACE);
  const round = Math.floor(k / SOFTWARE_SPACE);
  return round === 0 ? prompt : `${prompt.replace(/\?$/, "")} (variant ${letters(round)})?`;
}

/** A rewording of a store prompt: the benchmark's paraphrase (other casing and framing). */
export function storeRewording(prompt: string): string {
  return paraphrase(prompt);
}

const NOUNS = (
  "anchor,apron,arrow,attic,avocado,badge,bakery,balcony,ballot,bamboo,banjo,barrel,basket,beacon,beetle,bicycle,blanket," +
  "blizzard,bonfire,bookshelf,bottle,bracelet,bridge,broom,bucket,buffalo,butterfly,cabin,cactus,camel,candle,canoe,canyon," +
  "carpet,castle,cathedral,cellar,chalk,chimney,chisel,circus,cliff,clock,coconut,compass,copper,coral,cottage,crater,crayon," +
  "crystal,cupboard,curtain,cushion,dagger,desert,diamond,dolphin,donkey,dragonfly,drum,eagle,elephant,envelope,falcon,feather," +
  "ferry,fiddle,fjord,flute,fountain,fox,furnace,galaxy,garlic,glacier,goat,gondola,granite,guitar,hammer,harbour,harp,hedgehog," +
  "helmet,honey,horizon,hurricane,iceberg,igloo,island,ivory,jacket,jaguar,jellyfish,jungle,kettle,kite,ladder,lagoon,lantern," +
  "lava,lemon,library,lighthouse,lizard,lobster,locomotive,magnet,mango,marble,marsh,meadow,meteor,microscope,mirror,monastery," +
  "mosaic,mountain,mushroom,necklace,nest,octopus,orchard,ostrich,otter,oyster,paddle,palace,parachute,parrot,peacock,pebble," +
  "pelican,penguin,piano,pillow,pine,pirate,planet,plough,pottery,pumpkin,pyramid,quarry,quilt,rabbit,raccoon,railway,rainbow," +
  "raven,reef,ribbon,river,robot,rocket,saddle,sailboat,salmon,sandal,satellite,saxophone,scarecrow,scissors,scorpion,seashell," +
  "shovel,skyscraper,sled,snail,sparrow,spider,squirrel,stadium,statue,submarine,sunflower,swamp,sword,tapestry,telescope,tent," +
  "thunder,tiger,tornado,tortoise,tractor,trumpet,tulip,tunnel,turtle,umbrella,unicorn,valley,vase,velvet,village,vineyard," +
  "violin,volcano,wagon,walrus,waterfall,whale,wheat,whistle,windmill,wizard,wolf,zebra"
).split(",");

/** The four nouns of the k-th Ask question: distinct tuples for k below 210⁴. */
function askNouns(k: number): readonly [string, string, string, string] {
  const n = NOUNS.length;
  let x = (k * STRIDE + 1) % n ** 4;
  const pick = (): string => {
    const word = NOUNS[x % n]!;
    x = Math.floor(x / n);
    return word;
  };
  return [pick(), pick(), pick(), pick()];
}

/** The k-th new question an Ask sends ("Compare anchor, tulip, raven and quarry."). */
export function askPrompt(k: number): string {
  const [a, b, c, d] = askNouns(k);
  return `Compare ${a}, ${b}, ${c} and ${d}.`;
}

/**
 * A rewording of an Ask question: the same nouns in reverse order, lower
 * case, no full stop. Not equal after normalisation (so a semantic, not an
 * exact, match); the fixture model scores it at 0.9998 or more (measured on
 * 300), being order-blind.
 */
export function askRewording(prompt: string): string {
  const match = /^Compare (\w+), (\w+), (\w+) and (\w+)\.$/.exec(prompt);
  if (match === null) throw new Error(`not an Ask question of the load test: ${prompt}`);
  const [, a, b, c, d] = match;
  return `compare ${d}, ${c}, ${b} and ${a}`;
}
