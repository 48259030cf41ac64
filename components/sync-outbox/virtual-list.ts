// The outbox's virtualized list, loaded with import() only when a list is long enough to virtualize: @lit-labs/virtualizer stays out of the page bundle.
import { FlowLayout } from '@lit-labs/virtualizer/layouts/flow.js';
import { virtualize } from '@lit-labs/virtualizer/virtualize.js';
import type { TemplateResult } from 'lit';
import type { DirectiveResult } from 'lit/directive.js';

type Size = FlowLayout['viewportSize'];
type Positions = FlowLayout['viewportScroll'];

/**
 * A flow layout whose viewport is the scrolling list's own box, not the part of it the window shows. The
 * stock layout clips to the window: a list scrolled or zoomed out of view renders no rows at all, so
 * assistive technology meets an empty list and the row holding focus is removed. Here the rows in the
 * list's own viewport (plus the layout's overhang) stay rendered wherever the page is scrolled.
 */
class ListViewportLayout extends FlowLayout {
  /** Set through the layout config: the element whose own scroll box is the viewport. */
  viewportElement?: () => HTMLElement | undefined;

  override get viewportSize(): Size {
    return super.viewportSize;
  }

  override set viewportSize(size: Size) {
    const list = this.viewportElement?.();
    super.viewportSize = list ? { width: list.clientWidth, height: list.clientHeight } : size;
  }

  override get viewportScroll(): Positions {
    return super.viewportScroll;
  }

  override set viewportScroll(scroll: Positions) {
    const list = this.viewportElement?.();
    super.viewportScroll = list ? { top: list.scrollTop, left: list.scrollLeft } : scroll;
  }
}

export interface VirtualListOptions<T> {
  items: T[];
  keyFunction(item: T, index: number): unknown;
  renderItem(item: T, index: number): TemplateResult;
  /** The list element the directive renders into (its own scroller). */
  viewportElement(): HTMLElement | undefined;
}

/** Renders `items` virtualized into the scrolling element that holds this directive; fires `rangeChanged` on it. */
export function virtualList<T>({
  items,
  keyFunction,
  renderItem,
  viewportElement,
}: VirtualListOptions<T>): DirectiveResult {
  return virtualize<T>({
    scroller: true,
    items,
    keyFunction,
    renderItem,
    // The layout config is applied to the layout instance, so this option reaches ListViewportLayout.viewportElement.
    layout: { type: ListViewportLayout, viewportElement } as unknown as { type: typeof FlowLayout },
  });
}
