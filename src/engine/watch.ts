// The timeouts and the stop of the requests out now: one timer on the engine's clock for all of them.
import { MAX_TIMER_MS } from '../types.ts';
import type { Clock } from './clock.ts';

/** One request out under a RequestWatch. */
export interface Watched {
  readonly controller: AbortController;
  /** On the watch's clock: the request is aborted as timed out once the clock reaches it. */
  due: number;
  readonly timeoutMs: number;
  timedOut: boolean;
}

/**
 * Watches the requests out now: aborts each whose time is up, and all of them when stopped. One timer on the clock
 * serves them all, armed for the earliest due and left to fire when that request has already ended (it then
 * re-arms for the next, or not at all): a timer set and cleared, and an abort listener added and removed, for every
 * request were a tenth of a drain's own JavaScript.
 */
export class RequestWatch {
  private readonly out = new Set<Watched>();
  private timer: unknown = null;
  private timerAt = Infinity;
  private stopped = false;

  constructor(private readonly clock: Clock) {}

  /** A request about to leave, with its own controller; aborted at once if the watch has stopped. */
  start(timeoutMs: number): Watched {
    const watched: Watched = {
      controller: new AbortController(),
      due: this.clock.now() + timeoutMs,
      timeoutMs,
      timedOut: false,
    };
    if (this.stopped) {
      watched.controller.abort();
      return watched;
    }
    this.out.add(watched);
    if (watched.due < this.timerAt) this.arm(watched.due);
    return watched;
  }

  /** The request ended (answered, failed or aborted): no longer watched. */
  end(watched: Watched): void {
    this.out.delete(watched);
  }

  /** Aborts every request out, and every one started from now on. */
  stop(): void {
    this.stopped = true;
    this.disarm();
    for (const watched of this.out) watched.controller.abort();
    this.out.clear();
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    // Past 2^31-1 ms a timer fires at once; one that fires early finds nothing due and waits again.
    this.timer = this.clock.setTimeout(() => this.check(), Math.min(Math.max(0, at - this.clock.now()), MAX_TIMER_MS));
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private check(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const watched of this.out) {
      // Further off than its whole timeout: the clock went back. Counted from now, so a request that hangs is
      // still given up on within twice its timeout, not once the clock has caught up.
      if (watched.due - now > watched.timeoutMs) watched.due = now + watched.timeoutMs;
      if (watched.due <= now) {
        this.out.delete(watched);
        watched.timedOut = true;
        watched.controller.abort();
      } else if (watched.due < next) next = watched.due;
    }
    if (next !== Infinity) this.arm(next);
  }
}
