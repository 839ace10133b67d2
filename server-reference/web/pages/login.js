// Log in with email and password; also exports the credentials form the sign-up page reuses.

import { h, field, errorBox, page } from '../dom.js';

/**
 * An email + password form that POSTs to `path`, stores the session and goes to `next`.
 * `submitLabel` names the button; `passwordHint` explains the password rule.
 */
export function credentialsForm(ctx, { path, submitLabel, passwordHint, autocomplete, done }) {
  const email = field('Email', { type: 'email', name: 'email', required: true, autocomplete: 'email' });
  const password = field('Password', {
    type: 'password', name: 'password', required: true, autocomplete,
  }, { hint: passwordHint });
  const errors = h('div', { class: 'form-errors' });
  const button = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h('form', {
    class: 'card narrow',
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      if (!form.reportValidity()) return;
      button.disabled = true;
      try {
        const auth = await ctx.api('POST', path, {
          email: email.control.value.trim(),
          password: password.control.value,
        });
        ctx.session.set(auth);
        done(auth);
      } catch (err) {
        errors.replaceChildren(errorBox(err));
        password.control.focus();
      } finally {
        button.disabled = false;
      }
    },
  }, email, password, errors, h('div', { class: 'actions' }, button));
  return form;
}

/** Where to go after signing in: `?next=#/…` when a page sent the user here. */
export function nextHash(ctx, fallback) {
  const next = ctx.query.get('next');
  return next && next.startsWith('#/') ? next : fallback;
}

export function render(container, _params, ctx) {
  const form = credentialsForm(ctx, {
    path: '/api/v1/auth/login',
    submitLabel: 'Log in',
    autocomplete: 'current-password',
    done: (auth) => {
      ctx.notify(`Welcome back, ${auth.account.email}.`);
      ctx.navigate(nextHash(ctx, '#/lobby'));
    },
  });
  page(container, 'Log in', form,
    h('p', {}, 'New here? ', h('a', { href: '#/signup' }, 'Create an account')));
}
