// The styles of <pending-marker>: its own tokens mapped to private properties, light and dark defaults, and its parts.
import { css } from 'lit';
import { schemeDefaults, sharedStyles, sharedTokens } from '../internal/styles.ts';

/** `static styles` of <pending-marker>. */
export const styles = [
  sharedStyles,
  sharedTokens('pending-marker', ['focus-color']),
  schemeDefaults({
    '--_color': [['--pending-marker-color'], '#1a1a1a', '#f5f5f5'],
    '--_bg': [['--pending-marker-background'], '#ffe3a3', '#5c4300'],
    '--_failed-bg': [['--pending-marker-failed-background'], '#ffd8d4', '#8c1d18'],
    '--_conflict-bg': [['--pending-marker-conflict-background'], '#f0dbff', '#5b2a7a'],
    '--_details-color': [['--pending-marker-details-color'], '#ffffff', '#1a1a1a'],
    '--_details-bg': [['--pending-marker-details-background'], '#1a1a1a', '#f1f1f1'],
  }),
  css`
    :host {
      display: inline-block;
      position: relative;
      vertical-align: middle;
    }
    .base {
      display: inline-block;
      padding: 0 0.5em;
      border-radius: 999px;
      font-size: 0.75em;
      line-height: 1.6;
      color: var(--_color);
      background: var(--_bg);
    }
    :host([state='failed']) .base {
      background: var(--_failed-bg);
    }
    :host([state='conflict']) .base {
      background: var(--_conflict-bg);
    }
    /* Shown details: over the content below, as wide as its words need up to a readable measure. */
    .details.shown {
      position: absolute;
      inset-inline-start: 0;
      /* Right below the pill, its gap a transparent border of the details: the pointer moving from the pill to
         them never leaves the marker, so they stay shown (WCAG 1.4.13, hoverable). */
      top: 100%;
      border-top: 0.25em solid transparent;
      background-clip: padding-box;
      z-index: 1;
      width: max-content;
      max-width: min(20em, 80vw);
      padding: 0.25em 0.5em;
      border-radius: 0.25em;
      font-size: 0.75em;
      line-height: 1.4;
      white-space: normal;
      overflow-wrap: anywhere;
      color: var(--_details-color);
      background: var(--_details-bg);
    }
    /* In the top layer (where the Popover API is): placed by the element, in viewport coordinates, from the pill's
       box. The UA's popover box (centred, bordered, Canvas-coloured, scrolling) is reset to the look above. */
    .details.shown[popover] {
      position: fixed;
      inset: auto;
      margin: 0;
      border: 0;
      border-top: 0.25em solid transparent;
      padding: 0.25em 0.5em;
      width: max-content;
      height: auto;
      overflow: visible;
      color: var(--_details-color);
      background: var(--_details-bg);
      background-clip: padding-box;
    }
    /* Above the pill when there is no room below: the gap faces the pill there. */
    .details.shown[popover][data-above] {
      border-top-width: 0;
      border-bottom: 0.25em solid transparent;
    }
  `,
];
