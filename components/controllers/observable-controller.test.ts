// ObservableController: subscribes only while connected, updates only on change, switches and clears sources without leaks, says when a source ends.
import { expect, fixture } from '@open-wc/testing';
import { html, LitElement } from 'lit';
import { BehaviorSubject, Observable } from 'rxjs';
import { uniqueName } from '../../test/support/server.ts';
import { ObservableController } from '../index.ts';

/** A source that counts its open subscriptions. */
function counted<T>(initial: T) {
  const subject = new BehaviorSubject(initial);
  let active = 0;
  const source = new Observable<T>((subscriber) => {
    active++;
    const subscription = subject.subscribe(subscriber);
    return () => {
      active--;
      subscription.unsubscribe();
    };
  });
  return {
    source,
    next: (v: T) => subject.next(v),
    get active() {
      return active;
    },
  };
}

class Host extends LitElement {
  renders = 0;
  values: number[] = [];
  readonly value = new ObservableController<number>(this, { onValue: (v) => this.values.push(v) });
  override render() {
    this.renders++;
    return html`${this.value.value ?? '–'}`;
  }
}
const tag = uniqueName('observable-host');
customElements.define(tag, Host);

describe('ObservableController', () => {
  it('subscribes while connected only, and re-subscribes on reconnect', async () => {
    const a = counted(1);
    const host = document.createElement(tag) as Host;
    host.value.observe(a.source);
    expect(a.active).to.equal(0);
    const parent = await fixture('<div></div>');
    parent.append(host);
    expect(a.active).to.equal(1);
    expect(host.value.active).to.equal(true);
    await host.updateComplete;
    expect(host.shadowRoot!.textContent).to.equal('1');
    host.remove();
    expect(a.active).to.equal(0);
    expect(host.value.active).to.equal(false);
    parent.append(host);
    expect(a.active).to.equal(1);
    host.remove();
  });

  it('asks for an update only when the value changes (Object.is)', async () => {
    const a = counted(1);
    const host = document.createElement(tag) as Host;
    host.value.observe(a.source);
    (await fixture('<div></div>')).append(host);
    await host.updateComplete;
    const renders = host.renders;
    a.next(1);
    a.next(1);
    await host.updateComplete;
    expect(host.renders).to.equal(renders);
    a.next(2);
    await host.updateComplete;
    expect(host.renders).to.equal(renders + 1);
    expect(host.values).to.deep.equal([1, 2]);
    expect(host.shadowRoot!.textContent).to.equal('2');
  });

  it('switches sources without leaking, and clears the value for no source', async () => {
    const a = counted(1);
    const b = counted(5);
    const host = document.createElement(tag) as Host;
    host.value.observe(a.source);
    (await fixture('<div></div>')).append(host);
    host.value.observe(b.source);
    expect([a.active, b.active]).to.deep.equal([0, 1]);
    expect(host.value.value).to.equal(5);
    host.value.observe(undefined);
    expect(b.active).to.equal(0);
    expect(host.value.value).to.equal(undefined);
    await host.updateComplete;
    expect(host.shadowRoot!.textContent).to.equal('–');
  });

  it('says when its source has ended (completed or errored), and forgets that for a new source', async () => {
    const subject = new BehaviorSubject(1);
    const host = document.createElement(tag) as Host;
    host.value.observe(subject.asObservable());
    (await fixture('<div></div>')).append(host);
    expect(host.value.ended).to.equal(false);
    subject.complete();
    expect(host.value.ended).to.equal(true);
    // The last value stays, for what an element still wants to show of it.
    expect(host.value.value).to.equal(1);
    const failing = new Observable<number>((subscriber) => subscriber.error(new Error('gone')));
    host.value.observe(failing);
    expect(host.value.ended).to.equal(true);
    expect((host.value.error as Error).message).to.equal('gone');
    host.value.observe(counted(2).source);
    expect(host.value.ended).to.equal(false);
    expect(host.value.value).to.equal(2);
  });

  it('keeps the last value across a switch when asked (a moving list window)', async () => {
    const a = counted(1);
    const never = new Observable<number>(() => {});
    const host = document.createElement(tag) as Host;
    host.value.observe(a.source);
    (await fixture('<div></div>')).append(host);
    host.value.observe(never, true);
    expect(host.value.value).to.equal(1);
    host.value.observe(a.source);
    expect(host.value.value).to.equal(1);
  });
});
