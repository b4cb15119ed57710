import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
} from "@bufbuild/protobuf/wkt";

/** A full name without the leading dot descriptors use for references. */
function fullName(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

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
  /** Full names of the message types. */
  private readonly messages = new Set<string>();
  /** The files declaring extensions, by extendee full name, then field number. */
  private readonly extensions = new Map<string, Map<number, DescFile>>();
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
    return this.symbols.get(fullName(symbol));
  }

  /** Whether a message type of this full name is known. */
  hasMessage(typeName: string): boolean {
    return this.messages.has(fullName(typeName));
  }

  /** The file declaring extension `number` of message `extendee`. */
  fileContainingExtension(extendee: string, number: number): DescFile | undefined {
    return this.extensions.get(fullName(extendee))?.get(number);
  }

  /** The field numbers of the known extensions of a message type, ascending. */
  extensionNumbers(extendee: string): number[] {
    return [...(this.extensions.get(fullName(extendee))?.keys() ?? [])].sort((a, b) => a - b);
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
    const proto = file.proto;
    if (this.files.has(proto.name)) return;
    this.files.set(proto.name, file);
    // Walks the FileDescriptorProto rather than the Desc* objects: they leave
    // out synthetic map entry messages, which are symbols all the same.
    const scope = proto.package === "" ? "" : `${proto.package}.`;
    for (const message of proto.messageType) this.addMessage(file, scope, message);
    for (const enumeration of proto.enumType) this.addEnum(file, scope, enumeration);
    for (const extension of proto.extension) this.addExtension(file, scope, extension);
    for (const service of proto.service) {
      this.symbols.set(`${scope}${service.name}`, file);
      for (const method of service.method) this.symbols.set(`${scope}${service.name}.${method.name}`, file);
    }
    for (const dependency of file.dependencies) this.addFile(dependency);
  }

  private addMessage(file: DescFile, scope: string, message: DescriptorProto): void {
    const name = `${scope}${message.name}`;
    this.symbols.set(name, file);
    this.messages.add(name);
    for (const field of message.field) this.symbols.set(`${name}.${field.name}`, file);
    for (const oneof of message.oneofDecl) this.symbols.set(`${name}.${oneof.name}`, file);
    for (const nested of message.nestedType) this.addMessage(file, `${name}.`, nested);
    for (const nested of message.enumType) this.addEnum(file, `${name}.`, nested);
    for (const nested of message.extension) this.addExtension(file, `${name}.`, nested);
  }

  private addEnum(file: DescFile, scope: string, enumeration: EnumDescriptorProto): void {
    this.symbols.set(`${scope}${enumeration.name}`, file);
    // Enum values are siblings of their enum in protobuf's name scoping.
    for (const value of enumeration.value) this.symbols.set(`${scope}${value.name}`, file);
  }

  private addExtension(file: DescFile, scope: string, extension: FieldDescriptorProto): void {
    this.symbols.set(`${scope}${extension.name}`, file);
    const extendee = fullName(extension.extendee);
    let byNumber = this.extensions.get(extendee);
    if (byNumber === undefined) {
      byNumber = new Map();
      this.extensions.set(extendee, byNumber);
    }
    byNumber.set(extension.number, file);
  }
}
