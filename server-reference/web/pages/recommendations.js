// Placeholder: the recommendations page is being built.

import { h, page } from '../dom.js';

export function render(container) {
  page(container, 'Recommendations', h('p', {}, 'Coming soon.'));
}
