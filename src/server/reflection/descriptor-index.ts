import { toBinary, type DescEnum, type DescExtension, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * What server reflection needs to know about a set of services: their
 * files with every transitive import, and which file declares each symbol
 * and extension. Built from protobuf-es descriptors (the generated code's
 * embedded FileDescriptorProtos).
 */
export class DescriptorIndex {
  /** Full names of the services, sorted. */
  readonly serviceNames: readonly string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  /** Extensions by extendee full name, then field number. */
  private readonly extensions = new Map<string, Map<number, DescExtension>>();
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(services: Iterable<DescService>) {
    const names = new Set<string>();
    for (const service of services) {
      names.add(service.typeName);
      this.addFile(service.file);
    }
    this.serviceNames = [...names].sort();
  }

  /** A file by its name, e.g. `semcache/v1/semantic_cache.proto`. */
  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /**
   * The file declaring a fully-qualified symbol: a message, enum, service,
   * method, field, oneof, enum value or extension (nested ones included).
   */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
  }

  /** Whether a message type of this full name is known. */
  hasMessage(typeName: string): boolean {
    const file = this.symbols.get(typeName);
    return file !== undefined && findMessage(file, typeName) !== undefined;
  }

  /** The file declaring extension `number` of message `extendee`. */
  fileContainingExtension(extendee: string, number: number): DescFile | undefined {
    return this.extensions.get(extendee)?.get(number)?.file;
  }

  /** The field numbers of the known extensions of a message type, ascending. */
  extensionNumbers(extendee: string): number[] {
    return [...(this.extensions.get(extendee)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /**
   * The serialized FileDescriptorProto of `file` followed by those of its
   * transitive imports, leaving out files already in `sent` (the requested
   * file itself is always included). Adds what it returns to `sent`.
   */
  encodeWithDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const queue: DescFile[] = [file];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const current = queue.shift() as DescFile;
      const name = current.proto.name;
      if (seen.has(name)) continue;
      seen.add(name);
      if (out.length === 0 || !sent.has(name)) {
        out.push(this.encode(current));
        sent.add(name);
      }
      queue.push(...current.dependencies);
    }
    return out;
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const message of file.messages) this.addMessage(file, message);
    for (const enumeration of file.enums) this.addEnum(file, enumeration);
    for (const extension of file.extensions) this.addExtension(file, extension);
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      for (const method of service.methods) this.symbols.set(`${service.typeName}.${method.name}`, file);
    }
    for (const dependency of file.dependencies) this.addFile(dependency);
  }

  private addMessage(file: DescFile, message: DescMessage): void {
    this.symbols.set(message.typeName, file);
    for (const field of message.fields) this.symbols.set(`${message.typeName}.${field.name}`, file);
    for (const oneof of message.oneofs) this.symbols.set(`${message.typeName}.${oneof.name}`, file);
    for (const nested of message.nestedMessages) this.addMessage(file, nested);
    for (const nested of message.nestedEnums) this.addEnum(file, nested);
    for (const nested of message.nestedExtensions) this.addExtension(file, nested);
  }

  private addEnum(file: DescFile, enumeration: DescEnum): void {
    this.symbols.set(enumeration.typeName, file);
    // Enum values are siblings of their enum in protobuf's name scoping.
    const dot = enumeration.typeName.lastIndexOf(".");
    const scope = dot < 0 ? "" : `${enumeration.typeName.slice(0, dot)}.`;
    for (const value of enumeration.values) {
      if (!this.symbols.has(`${scope}${value.name}`)) this.symbols.set(`${scope}${value.name}`, file);
    }
  }

  private addExtension(file: DescFile, extension: DescExtension): void {
    this.symbols.set(extension.typeName, file);
    let byNumber = this.extensions.get(extension.extendee.typeName);
    if (byNumber === undefined) {
      byNumber = new Map();
      this.extensions.set(extension.extendee.typeName, byNumber);
    }
    byNumber.set(extension.number, extension);
  }
}

function findMessage(file: DescFile, typeName: string): DescMessage | undefined {
  const search = (messages: readonly DescMessage[]): DescMessage | undefined => {
    for (const message of messages) {
      if (message.typeName === typeName) return message;
      const nested = search(message.nestedMessages);
      if (nested !== undefined) return nested;
    }
    return undefined;
  };
  return search(file.messages);
}
