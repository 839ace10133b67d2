// Create an account, then go straight to the profile form.

import { h, page } from '../dom.js';
import { credentialsForm, nextHash } from './login.js';

export function render(container, _params, ctx) {
  const form = credentialsForm(ctx, {
    path: '/api/v1/auth/signup',
    submitLabel: 'Sign up',
    autocomplete: 'new-password',
    passwordHint: 'At least 8 characters.',
    done: () => {
      ctx.notify('Account created. Tell other musicians what you play.');
      ctx.navigate(nextHash(ctx, '#/profile'));
    },
  });
  page(container, 'Sign up', form,
    h('p', {}, 'Already have an account? ', h('a', { href: '#/login' }, 'Log in')));
}
