// The demo page's own markup and styles (no scripts): it fits a 320 px wide screen, and its link is readable in dark mode.
import { expect } from '@open-wc/testing';
import { contrast, effectiveBackground, parseColor, useColorScheme } from '../components/test/a11y.ts';

/** demo/index.html with its scripts removed, in a same-origin frame of the given width. */
async function demoFrame(width: number): Promise<HTMLIFrameElement> {
  const source = await (await fetch('/demo/index.html')).text();
  // Scripts out; the stylesheet by its path from the root (an srcdoc frame resolves relative URLs against this page).
  const markup = source.replace(/<script\b[\s\S]*?<\/script>/g, '').replace('href="./demo.css"', 'href="/demo/demo.css"');
  const frame = document.createElement('iframe');
  frame.style.cssText = `width: ${width}px; height: 600px; border: 0`;
  const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
  frame.srcdoc = markup;
  document.body.append(frame);
  await loaded;
  const doc = frame.contentDocument!;
  // The stylesheet, applied.
  await new Promise<void>((resolve) => {
    const check = () => (getComputedStyle(doc.body).margin === '0px' ? resolve() : setTimeout(check, 20));
    check();
  });
  return frame;
}

describe('demo page', () => {
  let frame: HTMLIFrameElement | undefined;
  afterEach(async () => {
    frame?.remove();
    frame = undefined;
    await useColorScheme('light');
  });

  it('fits a 320 px wide screen without scrolling sideways', async () => {
    frame = await demoFrame(320);
    const doc = frame.contentDocument!;
    // The layout width: 320 less a classic scrollbar where the engine draws one (Firefox).
    const width = doc.documentElement.clientWidth;
    expect(width).to.be.within(300, 320);
    const wide = [...doc.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > width + 0.5).map((el) => el.localName + (el.id ? `#${el.id}` : ''));
    expect(wide, 'elements past the right edge').to.deep.equal([]);
    expect(doc.documentElement.scrollWidth).to.equal(width);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`makes "Open in a second tab" readable at 4.5:1 (${scheme})`, async function () {
      // Dark is checked only where the scheme can be emulated (Chromium).
      if (!(await useColorScheme(scheme))) this.skip();
      frame = await demoFrame(800);
      const link = frame.contentDocument!.querySelector('header a')!;
      expect(link.textContent).to.equal('Open in a second tab');
      const colour = parseColor(frame.contentWindow!.getComputedStyle(link).color);
      expect(contrast(colour, effectiveBackground(link))).to.be.at.least(4.5);
    });
  }
});
