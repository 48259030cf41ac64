// The lane scheduler: a set of runnable lanes, up to N lane workers, and a wake timer per waiting lane. No passes.
import { MAX_TIMER_MS } from '../types.ts';
import type { Clock } from './clock.ts';

export interface LaneSchedulerOptions {
  clock: Clock;
  /** Lanes worked on at once. */
  concurrency(): number;
  /** False while nothing may be sent (offline, paused for sign-in, closed): runnable lanes wait, none is lost. */
  canRun(): boolean;
  /**
   * Works on a lane until it has nothing it may send now; resolves with when to look again (Infinity: only when
   * poked). Called for one lane at a time: a lane is never worked on twice at once.
   */
  run(lane: string): Promise<number>;
  /** A lane worker threw: it is tried again after `retryDelayMs`, so a passing storage hiccup never stalls a lane. */
  onError(lane: string, error: unknown): void;
  retryDelayMs?: number;
  /** Called when the number of busy lane workers changes. */
  onBusyChange?(busy: number): void;
}

export class LaneScheduler {
  /** Lanes waiting for a worker, in the order they became due (a Set keeps insertion order). */
  private readonly runnable = new Set<string>();
  private readonly running = new Set<string>();
  /** Lanes poked while a worker had them: looked at again the moment it lets go. */
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private stopped = false;

  constructor(private readonly options: LaneSchedulerOptions) {}

  /** Something changed in these lanes (new operations, a retry, a discard): look at them now. */
  poke(...lanes: string[]): void {
    if (this.stopped) return;
    for (const lane of lanes) {
      this.clearTimer(lane);
      if (this.running.has(lane)) this.again.add(lane);
      else this.runnable.add(lane);
    }
    this.pump();
  }

  /** Starts workers for runnable lanes, up to the concurrency; call when `canRun` may have become true. */
  pump(): void {
    if (this.stopped || !this.options.canRun()) return;
    const limit = Math.max(1, this.options.concurrency());
    for (const lane of this.runnable) {
      if (this.running.size >= limit) break;
      this.runnable.delete(lane);
      void this.work(lane);
    }
  }

  /** Lanes with a worker now. */
  get busy(): number {
    return this.running.size;
  }

  /** Whether any lane is waiting for a worker or a timer: nothing is forgotten. */
  get waiting(): { runnable: string[]; timed: { lane: string; at: number }[] } {
    return { runnable: [...this.runnable], timed: [...this.timers].map(([lane, t]) => ({ lane, at: t.at })) };
  }

  stop(): void {
    this.stopped = true;
    for (const lane of [...this.timers.keys()]) this.clearTimer(lane);
    this.runnable.clear();
    this.again.clear();
  }

  private async work(lane: string): Promise<void> {
    this.running.add(lane);
    this.options.onBusyChange?.(this.running.size);
    let wakeAt: number;
    try {
      wakeAt = await this.options.run(lane);
    } catch (error) {
      this.options.onError(lane, error);
      wakeAt = this.options.clock.now() + (this.options.retryDelayMs ?? 1000);
    } finally {
      this.running.delete(lane);
      this.options.onBusyChange?.(this.running.size);
    }
    if (this.stopped) return;
    if (this.again.delete(lane)) this.runnable.add(lane);
    else if (wakeAt !== Infinity) this.setTimer(lane, wakeAt);
    this.pump();
  }

  private setTimer(lane: string, at: number): void {
    this.clearTimer(lane);
    const handle = this.options.clock.setTimeout(
      () => {
        this.timers.delete(lane);
        this.poke(lane);
      },
      // Past 2^31-1 ms a timer fires at once: a far wake (a clock gone back by weeks) would poll the lane hot.
      Math.min(Math.max(0, at - this.options.clock.now()), MAX_TIMER_MS),
    );
    this.timers.set(lane, { at, handle });
  }

  private clearTimer(lane: string): void {
    const timer = this.timers.get(lane);
    if (!timer) return;
    this.options.clock.clearTimeout(timer.handle);
    this.timers.delete(lane);
  }
}
