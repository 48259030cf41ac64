// A bounded set that forgets its oldest entries: operations that left the queue, so a stale read cannot bring them back.

export class RecentSet<T> {
  private readonly items = new Set<T>();

  constructor(private readonly limit: number) {}

  add(item: T): void {
    // Re-adding moves an item to the young end.
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.limit) {
      const oldest = this.items.values().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
  }

  has(item: T): boolean {
    return this.items.has(item);
  }

  /** Whether it was there. */
  delete(item: T): boolean {
    return this.items.delete(item);
  }

  clear(): void {
    this.items.clear();
  }
}
