// A bounded set that forgets its oldest entries: ids that left the queue, so a stale read cannot bring them back.

export class RecentSet {
  private readonly items = new Set<string>();

  constructor(private readonly limit: number) {}

  add(id: string): void {
    // Re-adding moves an id to the young end.
    this.items.delete(id);
    this.items.add(id);
    if (this.items.size > this.limit) {
      const oldest = this.items.values().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  /** Whether it was there. */
  delete(id: string): boolean {
    return this.items.delete(id);
  }

  clear(): void {
    this.items.clear();
  }
}
