// Helpers for the <sync-outbox> tests: mount one under a provider for the test's client, find its rows by label.
import { fixture, fixtureCleanup, html } from '@open-wc/testing';
import type { TemplateResult } from 'lit';
import type { SyncOutboxElement } from '../index.ts';
import { frames } from './a11y.ts';
import { until, type TestClient } from './support.ts';

/** `client()` gives the current test's client (each test makes its own); `rowWaitMs` bounds `waitRow`. */
export function outboxHelpers(client: () => TestClient, rowWaitMs: number) {
  const mount = async (outbox: TemplateResult = html`<sync-outbox></sync-outbox>`) => {
    const provider = await fixture(html`<sync-provider .client=${client().client}>${outbox}</sync-provider>`);
    const el = provider.querySelector('sync-outbox')!;
    await until(() => el.total !== undefined, 5000, 'first window');
    await el.updateComplete;
    return el;
  };
  const rows = (el: SyncOutboxElement) => [...el.shadowRoot!.querySelectorAll<HTMLElement>('.item[data-id]')];
  const row = (el: SyncOutboxElement, label: string) =>
    rows(el).find((r) => r.querySelector('[part="label"]')!.textContent === label);
  const inRow = (el: SyncOutboxElement, label: string, selector: string) =>
    row(el, label)?.querySelector<HTMLElement>(selector) ?? null;
  const waitRow = (el: SyncOutboxElement, label: string, check: (r: HTMLElement) => boolean = () => true) =>
    until(
      () => {
        const r = row(el, label);
        return !!r && check(r);
      },
      rowWaitMs,
      `row ${label}`,
    );
  return { mount, rows, row, inRow, waitRow };
}

/**
 * Runs a test that virtualizes a long outbox. The virtualizer's ResizeObserver may defer a notification to the next
 * frame while rows arrive; Chromium reports that as a benign "ResizeObserver loop" error, which mocha would count as a
 * failure. Only that message is ignored, and for as long as a virtualizer can still observe: the test's fixtures are
 * removed and two frames pass before the filter goes (a frame rendered between the test's end and the fixtures'
 * removal in afterEach raised it outside any filter, failing the tests after it).
 */
export async function ignoringResizeObserverLoop(run: () => Promise<void>): Promise<void> {
  const mochaOnError = window.onerror;
  window.onerror = (message, ...rest) =>
    /ResizeObserver loop/.test(String(message)) ? true : (mochaOnError?.call(window, message, ...rest) ?? false);
  try {
    await run();
  } finally {
    fixtureCleanup();
    await frames(2);
    window.onerror = mochaOnError;
  }
}
