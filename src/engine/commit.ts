// Committing an IndexedDB transaction once its requests are placed (the queue store and Background Sync both do).

/** Asks a transaction to commit without waiting for auto-commit; a no-op where it is finished or unsupported. */
export function commitNow(tx: { commit?(): void }): void {
  try {
    tx.commit?.();
  } catch {
    /* already committing, finished or aborted: tx.done tells */
  }
}
