// The Vue micro-frontend: the outbox and a quick-add field, rendered with Vue's h() so no template compiler is needed.
import { createApp, defineComponent, h, ref } from 'vue';
import type { TaskBoard } from './tasks.ts';

export function mountVuePanel(element: Element, board: TaskBoard): void {
  const Panel = defineComponent({
    setup() {
      const title = ref('');
      const submit = (event: Event) => {
        event.preventDefault();
        const value = title.value.trim();
        if (!value) return;
        void board.add(value);
        title.value = '';
      };
      return () =>
        h('div', [
          h('form', { class: 'row', onSubmit: submit }, [
            h('label', { for: 'vue-add', class: 'visually-hidden' }, 'Quick add'),
            h('input', {
              id: 'vue-add',
              placeholder: 'Quick add from Vue',
              value: title.value,
              maxlength: 200,
              onInput: (e: Event) => (title.value = (e.target as HTMLInputElement).value),
            }),
            h('button', { type: 'submit' }, 'Add'),
          ]),
          // Its heading sits under the card's <h2>.
          h('sync-outbox', {
            'heading-level': 3,
            style: 'display: block; margin-top: 0.75rem; --sync-outbox-height: 15rem',
          }),
        ]);
    },
  });
  createApp(Panel).mount(element);
}
