// Connectivity to the server as one state: tab events, request outcomes and an active health probe feed it.
import { Connectivity } from '../types.ts';
import type { Clock } from './clock.ts';

export interface ConnectivityOptions {
  clock: Clock;
  probeIntervalMs: number;
  /** Asks the health endpoint; resolves true when the server (not just "a network") answered 2xx. */
  probe(): Promise<boolean>;
  onChange(next: Connectivity, previous: Connectivity): void;
}

/**
 * `navigator.onLine` means "some network", and a failed `fetch()` can be the request's own fault, so neither
 * alone makes the state offline: a failure to reach the server is checked with the probe first. While offline,
 * the probe runs every `probeIntervalMs`; its first success makes the state online again.
 */
export class ConnectivityManager {
  private current: Connectivity = Connectivity.Online;
  private probeTimer: unknown = null;
  private probing: Promise<boolean> | null = null;
  private closed = false;
  /** Epoch ms the state last became online after being offline. */
  lastOnlineAt = 0;

  constructor(private readonly options: ConnectivityOptions) {}

  get state(): Connectivity {
    return this.current;
  }

  /** A tab's `online`/`offline` event: offline is believed at once, online is checked. */
  setNetwork(online: boolean): void {
    if (this.closed) return;
    if (!online) this.set(Connectivity.Offline);
    else if (this.current === Connectivity.Offline) void this.probeNow();
  }

  /** The server answered (any HTTP status): it is reachable; `healthy` false for 5xx, timeouts and the like. */
  answered(healthy: boolean): void {
    this.set(healthy ? Connectivity.Online : Connectivity.Degraded);
  }

  /** A request got no answer: is the server reachable? If not, the state goes offline and probing starts. */
  async reachableAfterFailure(): Promise<boolean> {
    if (this.current === Connectivity.Offline) return false;
    const reachable = await this.probeNow();
    return reachable;
  }

  /** Probes now (one probe at a time; callers share it). */
  probeNow(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (!this.probing) {
      this.options.clock.clearTimeout(this.probeTimer);
      this.probing = this.options
        .probe()
        .catch(() => false)
        .then((ok) => {
          this.probing = null;
          if (this.closed) return ok;
          if (ok) {
            if (this.current === Connectivity.Offline) this.set(Connectivity.Online);
          } else {
            this.set(Connectivity.Offline);
            this.scheduleProbe();
          }
          return ok;
        });
    }
    return this.probing;
  }

  close(): void {
    this.closed = true;
    this.options.clock.clearTimeout(this.probeTimer);
  }

  private set(next: Connectivity): void {
    const previous = this.current;
    if (previous === next || this.closed) return;
    this.current = next;
    if (next === Connectivity.Offline) this.scheduleProbe();
    else this.options.clock.clearTimeout(this.probeTimer);
    if (previous === Connectivity.Offline) this.lastOnlineAt = this.options.clock.now();
    this.options.onChange(next, previous);
  }

  private scheduleProbe(): void {
    this.options.clock.clearTimeout(this.probeTimer);
    this.probeTimer = this.options.clock.setTimeout(() => void this.probeNow(), this.options.probeIntervalMs);
  }
}
