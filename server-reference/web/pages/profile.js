// Placeholder: the profile page is being built.

import { h, page } from '../dom.js';

export function render(container) {
  page(container, 'Profile', h('p', {}, 'Coming soon.'));
}
