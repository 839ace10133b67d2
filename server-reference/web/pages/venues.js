// Placeholder: the venues page is being built.

import { h, page } from '../dom.js';

export function render(container) {
  page(container, 'Venues', h('p', {}, 'Coming soon.'));
}
