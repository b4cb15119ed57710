/**
 * The token of an `authorization: Bearer <token>` header, or undefined when
 * the header is missing or not a bearer token. The scheme is case-insensitive
 * (RFC 7235).
 */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/iu.exec(header);
  return match?.[1];
}
