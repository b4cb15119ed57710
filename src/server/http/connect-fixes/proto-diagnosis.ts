import { isUtf8 } from "node:buffer";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/**
 * Says which field of a binary protobuf message is malformed, and how:
 * "scope.namespace: is not valid UTF-8 (protobuf strings must be UTF-8)",
 * "prompt: has wire type 0 (varint), but the schema says 2 (length-delimited)",
 * "scope: its length of 4294967295 bytes runs past the end of the message".
 *
 * message-precheck.ts runs it on every binary request message (decompressed
 * first when it came compressed) before protobuf-es decodes it: the decoder
 * rejects some such messages without naming the field ("premature EOF") and
 * quietly accepts others (a known field with the wrong wire type), so the
 * walk, not the decoder, decides. Undefined when no field is to blame
 * (garbage tags, groups nested too deeply, ...): then the message goes on to
 * the decoder, whose own words are all there is.
 */
export function diagnoseProtobuf(desc: DescMessage, bytes: Uint8Array): string | undefined {
  try {
    return walkMessage(desc, bytes, "");
  } catch {
    return undefined;
  }
}

const WIRE_TYPE_NAMES: Readonly<Record<number, string>> = {
  [WireType.Varint]: "varint",
  [WireType.Bit64]: "64-bit",
  [WireType.LengthDelimited]: "length-delimited",
  [WireType.StartGroup]: "start-group",
  [WireType.EndGroup]: "end-group",
  [WireType.Bit32]: "32-bit",
};

/** What one field (or one side of a map entry) holds. */
interface Slot {
  readonly scalar?: ScalarType;
  readonly message?: DescMessage;
  readonly map?: { readonly key: ScalarType; readonly value: Slot };
  /** Repeated numbers may come packed (length-delimited) as well as one by one. */
  readonly packable?: boolean;
}

function slotOf(field: DescField): Slot {
  switch (field.fieldKind) {
    case "scalar":
      return { scalar: field.scalar };
    case "enum":
      return { scalar: ScalarType.INT32 };
    case "message":
      return { message: field.message };
    case "list":
      if (field.listKind === "message") return { message: field.message };
      return { scalar: field.listKind === "enum" ? ScalarType.INT32 : field.scalar, packable: true };
    case "map": {
      const value: Slot =
        field.mapKind === "message" ? { message: field.message } : { scalar: field.mapKind === "enum" ? ScalarType.INT32 : field.scalar };
      return { map: { key: field.mapKey, value } };
    }
  }
}

function wireTypeOf(slot: Slot): WireType {
  if (slot.map !== undefined || slot.message !== undefined) return WireType.LengthDelimited;
  switch (slot.scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function walkMessage(desc: DescMessage, bytes: Uint8Array, prefix: string): string | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    const field = desc.fields.find((f) => f.number === fieldNo);
    if (field === undefined) {
      reader.skip(wireType, fieldNo);
      continue;
    }
    const problem = checkSlot(slotOf(field), wireType, fieldNo, reader, bytes, prefix + field.name);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function walkMapEntry(map: NonNullable<Slot["map"]>, bytes: Uint8Array, path: string): string | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    const slot = fieldNo === 1 ? { scalar: map.key } : fieldNo === 2 ? map.value : undefined;
    if (slot === undefined) {
      reader.skip(wireType, fieldNo);
      continue;
    }
    const problem = checkSlot(slot, wireType, fieldNo, reader, bytes, `${path} ${fieldNo === 1 ? "key" : "value"}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Reads one value of a known field, returning what is wrong with it, if anything. */
function checkSlot(slot: Slot, wireType: WireType, fieldNo: number, reader: BinaryReader, bytes: Uint8Array, path: string): string | undefined {
  const expected = wireTypeOf(slot);
  if (wireType !== expected && !(slot.packable === true && wireType === WireType.LengthDelimited)) {
    return `${path}: has wire type ${wireType} (${WIRE_TYPE_NAMES[wireType] ?? "unknown"}), but the schema says ${expected} (${WIRE_TYPE_NAMES[expected]})`;
  }
  if (wireType !== WireType.LengthDelimited) {
    reader.skip(wireType, fieldNo);
    return undefined;
  }
  const length = reader.uint32();
  if (length > reader.len - reader.pos) {
    return `${path}: its length of ${length} bytes runs past the end of the message (${reader.len - reader.pos} bytes left)`;
  }
  const data = bytes.subarray(reader.pos, reader.pos + length);
  reader.pos += length;
  if (slot.map !== undefined) return walkMapEntry(slot.map, data, path);
  if (slot.message !== undefined) return walkMessage(slot.message, data, `${path}.`);
  if (slot.scalar === ScalarType.STRING && !isUtf8(data)) return `${path}: is not valid UTF-8 (protobuf strings must be UTF-8)`;
  return undefined;
}
