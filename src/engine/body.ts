// Puts a request body into the form it is stored and sent in; small on purpose, as the page runs it before a call leaves.
import { SynclineError, SynclineErrorCode } from '../errors.ts';
import type { BodyType, FormEntry, StoredBytes } from '../types.ts';

/** A body in the form it is stored in, with its type and size in bytes. */
export interface StoredBody {
  body: unknown;
  bodyType: BodyType;
  size: number;
  /** A Content-Type the body implies (URLSearchParams), when the caller set none. */
  contentType?: string;
}

const encoder = new TextEncoder();

/** Refuses an operation with the typed error every bad input gets. */
export function invalid(message: string): never {
  throw new SynclineError(SynclineErrorCode.InvalidOperation, message);
}

/**
 * Puts a request body into the form it is stored and sent in. Runs in the page too: `FormData` and
 * `URLSearchParams` cannot cross `postMessage`, so they are turned into entries and text before they leave it.
 */
export function normalizeBody(body: unknown, declared?: BodyType): StoredBody | undefined {
  if (body === undefined || body === null) return undefined;
  if (declared === 'form') {
    if (!Array.isArray(body) || !body.every(isFormEntry))
      invalid('A form body must be a list of [name, string | Blob, filename?] entries.');
    return { body, bodyType: 'form', size: formSize(body as FormEntry[]) };
  }
  if (typeof body === 'string')
    return { body, bodyType: declared === 'json' ? 'json' : 'text', size: encoder.encode(body).length };
  if (typeof Blob !== 'undefined' && body instanceof Blob) return { body, bodyType: 'binary', size: body.size };
  if (body instanceof ArrayBuffer) return { body, bodyType: 'binary', size: body.byteLength };
  if (ArrayBuffer.isView(body)) {
    // Only the viewed bytes are kept, as their own buffer.
    const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice();
    return { body: bytes.buffer, bodyType: 'binary', size: bytes.byteLength };
  }
  if (typeof FormData !== 'undefined' && body instanceof FormData) {
    const entries: FormEntry[] = [];
    body.forEach((value, name) => {
      entries.push(typeof value === 'string' ? [name, value] : [name, value, (value as File).name]);
    });
    return { body: entries, bodyType: 'form', size: formSize(entries) };
  }
  if (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) {
    const text = body.toString();
    return {
      body: text,
      bodyType: 'text',
      size: encoder.encode(text).length,
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
    };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (error) {
    invalid(`\`request.body\` is not JSON-serialisable: ${(error as Error).message}`);
  }
  if (json === undefined) invalid('`request.body` is not JSON-serialisable.');
  return { body, bodyType: 'json', size: encoder.encode(json).length };
}

/**
 * `value` as JSON sees it, where a `toJSON` in it would change that: the copy postMessage makes keeps no prototype,
 * so a class instance's `toJSON` would be lost on the way to the engine and its own fields sent instead. Such a
 * value goes through `JSON.stringify` here, in the page, exactly as it would be sent (undefined when JSON cannot
 * write it); any other value is returned as it is, for the engine's own checks. A getter that throws throws here.
 */
export function asJsonValue(value: unknown): unknown {
  if (!hasToJSON(value, new Set())) return value;
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

/** Whether a `toJSON` method is anywhere in `value` (bytes and Blobs have none that JSON would call). */
function hasToJSON(value: unknown, path: Set<object>): boolean {
  if (typeof value !== 'object' || value === null || path.has(value)) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return false;
  if (typeof Blob !== 'undefined' && value instanceof Blob) return false;
  path.add(value);
  const found = Object.keys(value).some((key) => hasToJSON((value as Record<string, unknown>)[key], path));
  path.delete(value);
  return found;
}

function isFormEntry(entry: unknown): boolean {
  if (!Array.isArray(entry) || typeof entry[0] !== 'string') return false;
  const value = entry[1];
  return typeof value === 'string' || (typeof Blob !== 'undefined' && value instanceof Blob) || isStoredBytes(value);
}

export function isStoredBytes(value: unknown): value is StoredBytes {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as StoredBytes).bytes instanceof ArrayBuffer &&
    typeof (value as StoredBytes).type === 'string'
  );
}

function formSize(entries: FormEntry[]): number {
  let size = 0;
  for (const [name, value, filename] of entries) {
    // The file name goes in the part's headers: counted, or a long one would carry any size past the limit.
    size +=
      encoder.encode(name).length +
      (typeof filename === 'string' ? encoder.encode(filename).length : 0) +
      (typeof value === 'string'
        ? encoder.encode(value).length
        : value instanceof Blob
          ? value.size
          : value.bytes.byteLength);
  }
  return size;
}
