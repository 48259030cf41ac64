// The styles of <sync-provider>: it takes no room of its own.
import { css } from 'lit';

/** `static styles` of <sync-provider>. */
export const styles = css`
  :host {
    display: contents;
  }
`;
