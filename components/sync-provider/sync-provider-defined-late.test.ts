// <sync-provider> defined after the elements inside it (autoload(), the no-build bundle): no false "no provider" warning or note, and they connect once it upgrades.
// This file registers <sync-provider> itself, in its last test: it imports the define module of every other tag only.
import { expect } from '@open-wc/testing';
import { deleteSynclineDB } from '../../src/testing.ts';
import { uniqueName } from '../../test/support/server.ts';
import '../conflict-resolver/define.ts';
import '../pending-badge/define.ts';
import '../pending-marker/define.ts';
import '../sync-outbox/define.ts';
import '../sync-status/define.ts';
import { SyncProviderElement, defaultStrings, type PendingBadgeElement, type SyncElement } from '../index.ts';
import { shadowText, until } from '../test/support.ts';

/** Replaces console.warn for a test, recording calls. */
function captureWarnings(): { calls: unknown[][]; restore(): void } {
  const original = console.warn;
  const calls: unknown[][] = [];
  console.warn = (...args: unknown[]) => void calls.push(args);
  return { calls, restore: () => (console.warn = original) };
}

const CHILDREN = ['pending-badge', 'pending-marker', 'sync-outbox', 'sync-status', 'conflict-resolver'];
const children = (namespace: string) =>
  `<sync-provider endpoint="/api" namespace="${namespace}" mode="in-page">
    ${CHILDREN.map((tag) => `<div><${tag} show-zero entity="tasks/1"></${tag}></div>`).join('')}
  </sync-provider>`;

/** A few frames and tasks: long enough for every element to render and run its `updated()`. */
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('<sync-provider> defined after the elements inside it', () => {
  it('still warns, naming it, when the <sync-provider> above stays undefined', async function () {
    // The wait for an undefined provider ends after 5 s.
    this.timeout(15_000);
    expect(customElements.get('sync-provider'), 'this test runs first').to.equal(undefined);
    const warnings = captureWarnings();
    const host = document.createElement('div');
    host.innerHTML = `<sync-provider endpoint="/api" namespace="never"><pending-badge></pending-badge></sync-provider>`;
    try {
      document.body.append(host);
      const badge = host.querySelector<PendingBadgeElement>('pending-badge')!;
      await settle();
      expect(warnings.calls, 'no warning while the provider may still be defined').to.deep.equal([]);
      await until(() => warnings.calls.length > 0, 8000, 'the warning');
      await settle();
      expect(warnings.calls.length).to.equal(1);
      expect(String(warnings.calls[0]![0])).to.contain('<pending-badge>').and.to.contain('<sync-provider>');
      expect(String(warnings.calls[0]![0])).to.contain('not defined');
      expect(shadowText(badge)).to.equal(defaultStrings.noProvider);
    } finally {
      warnings.restore();
      host.remove();
    }
  });

  it('logs no "no provider" warning from the elements defined first, shows no such note, and connects them', async () => {
    const warnings = captureWarnings();
    const namespace = uniqueName('el-defined-late');
    const host = document.createElement('div');
    host.innerHTML = children(namespace);
    try {
      document.body.append(host);
      const elements = CHILDREN.map((tag) => host.querySelector<SyncElement>(tag)!);
      await Promise.all(elements.map((el) => el.updateComplete));
      await settle();
      for (const el of elements) {
        // The provider is there, only not upgraded yet: the elements say sync is not connected, not that it is missing.
        expect(shadowText(el), el.localName).not.to.contain(defaultStrings.noProvider);
      }
      expect(warnings.calls, 'before the provider is defined').to.deep.equal([]);
      // Set before the provider's code loaded: its client is made once, with the hook, not once without it first.
      const provider = host.querySelector<SyncProviderElement>('sync-provider')!;
      provider.authorize = async () => ({ Authorization: 'Bearer early' });
      customElements.define('sync-provider', SyncProviderElement);
      const first = provider.client;
      expect(first, 'made as it upgraded').to.not.equal(undefined);
      await provider.updateComplete;
      expect(provider.client, 'the same client after its first update').to.equal(first);
      const badge = elements[0] as PendingBadgeElement;
      await until(() => badge.count === 0, 5000, 'the badge reads the provider’s client');
      await until(
        () => elements.every((el) => !el.shadowRoot!.querySelector('[part~="no-provider"]')),
        5000,
        'every element has the client',
      );
      await settle();
      expect(warnings.calls, 'after').to.deep.equal([]);
    } finally {
      warnings.restore();
      host.remove();
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    }
  });
});
