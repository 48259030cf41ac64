// A ReactiveController that keeps an element subscribed to one RxJS Observable while the element is connected.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Observable, Subscription } from 'rxjs';

export interface ObservableControllerOptions<T> {
  /** Called with each new value (after the `Object.is` check), before the host updates. */
  onValue?(value: T): void;
}

/**
 * Subscribes in `hostConnected`, unsubscribes in `hostDisconnected`, and asks the host to update only
 * when a value differs (`Object.is`) from the last. The source is set with `observe()`, typically from
 * `willUpdate` when the client or a filter changed, never from `render()`. A source that completes or
 * errors is `ended`: a client's live queries end only when no engine will answer them again (the client
 * closed, or the page must reload), so its last value is no longer live.
 */
export class ObservableController<T> implements ReactiveController {
  /** The latest value, or undefined before the first one (and after the source is cleared). */
  value: T | undefined;
  /** The error the source ended with, if any. */
  error: unknown;
  /** The source completed or errored: `value` is the last one it gave, no longer kept up to date. */
  ended = false;
  private source: Observable<T> | undefined;
  private subscription: Subscription | undefined;
  private connected = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: ObservableControllerOptions<T> = {},
  ) {
    host.addController(this);
  }

  /**
   * Follows another source (or none). The value is cleared, unless `keepValue` (a list window moving)
   * keeps the last one until the new source emits, so the list does not flash empty.
   */
  observe(source: Observable<T> | undefined, keepValue = false): void {
    if (source === this.source) return;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.source = source;
    this.error = undefined;
    this.ended = false;
    if ((!source || !keepValue) && this.value !== undefined) {
      this.value = undefined;
      this.host.requestUpdate();
    }
    if (this.connected) this.subscribe();
  }

  /** Whether a subscription is open now (for tests and diagnostics). */
  get active(): boolean {
    return !!this.subscription && !this.subscription.closed;
  }

  hostConnected(): void {
    this.connected = true;
    this.subscribe();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private subscribe(): void {
    if (!this.source || this.subscription) return;
    const source = this.source;
    // Subscribed again (reconnected): a source that has ended says so again at once.
    this.ended = false;
    this.subscription = source.subscribe({
      next: (value) => {
        if (source !== this.source || Object.is(value, this.value)) return;
        this.value = value;
        this.options.onValue?.(value);
        this.host.requestUpdate();
      },
      error: (error: unknown) => {
        if (source !== this.source) return;
        this.error = error;
        this.ended = true;
        this.host.requestUpdate();
      },
      complete: () => {
        if (source !== this.source) return;
        this.ended = true;
        this.host.requestUpdate();
      },
    });
  }
}
