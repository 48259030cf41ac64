// HTTP plumbing shared by the routes: JSON errors, plain results, body reading and header parsing.

/** A response described as data, so it can be built inside a SQLite transaction and stored for replay. */
export interface ApiResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Thrown anywhere in request handling; becomes `{ error, message, ...extra }` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toResult(): ApiResult {
    return {
      status: this.status,
      headers: { 'content-type': 'application/json', ...this.headers },
      body: { error: this.code, message: this.message, ...this.extra },
    };
  }
}

export function jsonResult(status: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body };
}

/** 405 for a path that exists but not with this method; `allow` lists the methods it has. */
export function methodNotAllowed(method: string, path: string, allow: string[]): ApiError {
  return new ApiError(
    405,
    'method-not-allowed',
    `${path} does not support ${method}.`,
    {},
    { allow: allow.join(', ') },
  );
}

export function toResponse(result: ApiResult, extraHeaders: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(result.body), {
    status: result.status,
    headers: { ...result.headers, ...extraHeaders },
  });
}

export const COLLECTION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
// Paths under the base that are not collections (most cannot match the pattern anyway; this says why).
const RESERVED_COLLECTIONS = new Set(['health', '_admin', '_batch', '_syncline']);

export function checkCollection(name: string): string {
  if (!COLLECTION_PATTERN.test(name)) {
    throw new ApiError(400, 'bad-collection', `Collection names match ${COLLECTION_PATTERN.source}.`);
  }
  if (RESERVED_COLLECTIONS.has(name)) throw new ApiError(400, 'bad-collection', `"${name}" is a reserved name.`);
  return name;
}

export function checkId(id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new ApiError(400, 'bad-id', `An id is a string matching ${ID_PATTERN.source}.`);
  }
  // The pattern allows dots, but "." and ".." are dot segments: URL parsing removes them from a path, so such an
  // entity could be created and never addressed again.
  if (id === '.' || id === '..') throw new ApiError(400, 'bad-id', `"${id}" cannot be an id: it is a dot segment.`);
  return id;
}

/** The version an ETag names; versions are the only validators this server hands out. */
export function etag(version: number): string {
  return `"${version}"`;
}

/** `*`, or the opaque tags listed (the text between the quotes), compared with `etag()`'s as text. */
export type IfMatch = { any: true } | { any: false; tags: string[] };

// One list member: an entity tag (RFC 9110: optional W/, then a quoted string of etagc), or a bare number, which
// this server tolerates as if quoted, or nothing (RFC 9110 section 5.6.1: a recipient accepts empty list elements).
// Sticky, so the members are read in turn from where the last one ended.
const IF_MATCH_MEMBER = /[ \t]*(?:(?:W\/)?(?:"([\x21\x23-\x7E\x80-\xFF]*)"|(\d{1,15})))?[ \t]*(?:,|$)/y;

/**
 * Parses `If-Match`: `*` or a list of entity tags (weak tags and bare numbers tolerated). Absent → null. Any
 * well-formed tag is accepted, and one this server never handed out (`"v1"`, `""`, `"01"`) just never
 * matches (412); only a header that is not that syntax at all is 400.
 */
export function parseIfMatch(header: string | null | undefined, name = 'If-Match'): IfMatch | null {
  if (header == null) return null;
  const value = header.trim();
  if (value === '*') return { any: true };
  const code = `bad-${name.toLowerCase()}`;
  const bad = () => new ApiError(400, code, `${name} must be * or a list of entity tags like "3".`);
  const tags: string[] = [];
  IF_MATCH_MEMBER.lastIndex = 0;
  // Each match ends at a comma or at the end, so every turn moves on (an empty match happens only at the end).
  while (IF_MATCH_MEMBER.lastIndex < value.length) {
    const match = IF_MATCH_MEMBER.exec(value);
    if (!match) throw bad();
    const tag = match[1] ?? match[2];
    if (tag !== undefined) tags.push(tag);
  }
  if (tags.length === 0) throw bad();
  return { any: false, tags };
}

/** Whether If-Match lets a write to `version` through: `*`, or one of its tags is that version's. */
export function ifMatchAllows(ifMatch: IfMatch, version: number): boolean {
  return ifMatch.any || ifMatch.tags.includes(String(version));
}

const JSON_MEDIA_TYPE = /^\s*(?:application\/(?:[\w.+-]+\+)?json|text\/json)\s*(?:;|$)/i;

export interface RawBody {
  bytes: Uint8Array;
}

export const EMPTY_BODY: RawBody = { bytes: new Uint8Array(0) };

/** Reads the whole body, refusing more than `maxBytes` by Content-Length and by what actually arrives. */
export async function readRawBody(request: Request, maxBytes: number): Promise<RawBody> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    throw tooLarge(maxBytes);
  }
  if (!request.body) return EMPTY_BODY;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch {
      // The client went away mid-upload; there is nobody left to tell, but it must not look like our fault.
      throw new ApiError(400, 'bad-body', 'The body could not be read completely.');
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes };
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'too-large', `The body exceeds ${maxBytes} bytes.`);
}

/**
 * Deepest nesting accepted in entity data. JSON.parse takes far deeper input than JSON.stringify can write
 * back (it overflows the stack at a few thousand levels), which turned such a body into a 500 that a client
 * would retry forever; refusing it up front makes it a definite 400.
 */
export const MAX_JSON_DEPTH = 100;

/** Decodes a body that must be a JSON object (entity data), given the request's Content-Type. */
export function parseJsonObject(contentType: string | null, bytes: Uint8Array): Record<string, unknown> {
  const { value, depth } = parseJson(contentType, bytes);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'bad-body', 'The body must be a JSON object.');
  }
  if (depth > MAX_JSON_DEPTH) {
    throw new ApiError(400, 'bad-body', `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return value as Record<string, unknown>;
}

/**
 * One walk over a parsed value: its deepest nesting of objects and arrays, and whether it holds a number JSON cannot
 * write back. Without recursion, so the walk itself cannot overflow the stack.
 */
function shapeOf(root: unknown): { depth: number; nonFinite: boolean } {
  let depth = 0;
  let nonFinite = false;
  const pending: Array<[unknown, number]> = [[root, 1]];
  while (pending.length > 0) {
    const [value, level] = pending.pop()!;
    if (typeof value === 'number' && !Number.isFinite(value)) nonFinite = true;
    if (typeof value !== 'object' || value === null) continue;
    depth = Math.max(depth, level);
    for (const child of Array.isArray(value) ? value : Object.values(value)) pending.push([child, level + 1]);
  }
  return { depth, nonFinite };
}

/** Decodes a JSON body of any shape; a declared non-JSON Content-Type is 415. */
export function parseJsonBody(contentType: string | null, bytes: Uint8Array): unknown {
  return parseJson(contentType, bytes).value;
}

/** Decodes a JSON body, with the depth of its nesting (for the callers that bound it). */
function parseJson(contentType: string | null, bytes: Uint8Array): { value: unknown; depth: number } {
  // A missing type is tolerated for hand-written clients; a declared non-JSON type is a client bug worth naming.
  if (contentType !== null && !JSON_MEDIA_TYPE.test(contentType)) {
    throw new ApiError(415, 'unsupported-media-type', 'Send the body as application/json.');
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ApiError(400, 'bad-json', 'The body is not valid JSON.');
  }
  const { depth, nonFinite } = shapeOf(value);
  // JSON.parse reads 1e400 as Infinity, which is stored (and replayed) as null: a value changed, not re-encoded.
  if (nonFinite) throw new ApiError(400, 'bad-json', 'The body holds a number too large for a double (like 1e400).');
  return { value, depth };
}

/** Parses a body for the admin API, where content type is not policed. */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const raw = await readRawBody(request, maxBytes);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw.bytes));
  } catch {
    throw new ApiError(400, 'bad-json', 'The body is not valid JSON.');
  }
}
