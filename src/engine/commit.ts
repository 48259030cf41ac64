// Committing an IndexedDB transaction once its requests are placed (the queue store and Background Sync both do), and what keeps one from it.
import type { FormEntry, OperationInput } from '../types.ts';

/** Asks a transaction to commit without waiting for auto-commit; a no-op where it is finished or unsupported. */
export function commitNow(tx: { commit?(): void }): void {
  try {
    tx.commit?.();
  } catch {
    /* already committing, finished or aborted: tx.done tells */
  }
}

/** Whether an operation's body holds a Blob (directly or in a form entry). */
export function holdsBlob(input: OperationInput): boolean {
  const body = input.request.body;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  return (
    input.request.bodyType === 'form' &&
    Array.isArray(body) &&
    (body as FormEntry[]).some(([, value]) => value instanceof Blob)
  );
}
