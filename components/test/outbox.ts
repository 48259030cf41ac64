// Helpers for the <sync-outbox> tests: mount one under a provider for the test's client, find its rows by label.
import { fixture, html } from '@open-wc/testing';
import type { TemplateResult } from 'lit';
import type { SyncOutboxElement } from '../index.ts';
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
