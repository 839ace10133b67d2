// Placeholder: the lobby page is being built.

import { h, page } from '../dom.js';

export function render(container) {
  page(container, 'Lobby', h('p', {}, 'Coming soon.'));
}
