// One voice across the elements: class names in one pattern, boolean attributes that reflect, one word for "nothing unsent".
import { expect, fixture, html } from '@open-wc/testing';
import type { LitElement } from 'lit';
import './define.ts';
import * as components from './index.ts';
import { BadgeState, MarkerState } from './index.ts';

const tags = [
  'sync-provider',
  'pending-badge',
  'pending-marker',
  'sync-outbox',
  'sync-status',
  'conflict-resolver',
] as const;
const className = (tag: string) => `${tag.replace(/(^|-)(\w)/g, (_m, _dash, c: string) => c.toUpperCase())}Element`;

describe('element conventions', () => {
  for (const tag of tags) {
    it(`<${tag}> is the exported class ${className(tag)}`, () => {
      const exported = (components as Record<string, unknown>)[className(tag)];
      expect(exported, className(tag)).to.be.a('function');
      expect(customElements.get(tag)).to.equal(exported);
    });

    it(`<${tag}> reflects every boolean attribute`, async () => {
      const cls = customElements.get(tag) as unknown as typeof LitElement;
      const booleans = [...cls.elementProperties].filter(([, options]) => options.type === Boolean);
      const el = await fixture<LitElement>(`<${tag}></${tag}>`);
      for (const [name, options] of booleans) {
        expect(options.reflect, String(name)).to.equal(true);
        (el as unknown as Record<string, boolean>)[name as string] = true;
        await el.updateComplete;
        const attribute = typeof options.attribute === 'string' ? options.attribute : String(name).toLowerCase();
        expect(el.hasAttribute(attribute), attribute).to.equal(true);
      }
    });
  }

  it('says "saved" for nothing unsent on the badge and the marker alike', async () => {
    expect(BadgeState.Saved).to.equal('saved');
    expect(MarkerState.Saved).to.equal(BadgeState.Saved);
    const badge = await fixture<components.PendingBadgeElement>(html`<pending-badge></pending-badge>`);
    const marker = await fixture<components.PendingMarkerElement>(
      html`<pending-marker entity="tasks/1"></pending-marker>`,
    );
    expect(badge.getAttribute('state')).to.equal('saved');
    expect(marker.getAttribute('state')).to.equal('saved');
  });
});
