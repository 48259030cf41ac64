// Time as a dependency: the engine reads and waits through a Clock so tests can run it on virtual time.

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The wait after `last` for something tried again until it works: 1 s, then doubling, at most 30 s. */
export function doubledWait(last: number | undefined): number {
  return last === undefined ? 1_000 : Math.min(2 * last, 30_000);
}

/** A clock that moves only when told; timers fire in time order during `advance`. */
export class VirtualClock implements Clock {
  private time: number;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextHandle = 1;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.time + Math.max(0, ms), callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].callback();
    }
    this.time = end;
  }

  /** Epoch ms of the earliest pending timer, if any. */
  nextTimerAt(): number | undefined {
    let at: number | undefined;
    for (const { at: t } of this.timers.values()) if (at === undefined || t < at) at = t;
    return at;
  }
}
