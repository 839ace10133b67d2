// Tiny DOM helpers shared by the pages: element creation without innerHTML (so user data is
// never parsed as markup), form fields with labels, and status messages.

/**
 * `h('button', { type: 'submit', onclick }, 'Save')`: attributes starting with `on` become
 * listeners, `class`/`for`/`hidden`/… are set as attributes, children may be strings or nodes.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let ids = 0;
/** A unique id for label/input pairs. */
export function uid(prefix = 'f') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/**
 * A labelled field: `field('Email', { type: 'email', name: 'email', required: true })`.
 * `hint` adds a described-by help text. Returns the wrapper; the control is `.control`.
 */
export function field(label, attrs = {}, { hint, tag = 'input', options } = {}) {
  const id = attrs.id || uid();
  const hintId = hint ? `${id}-hint` : undefined;
  let control;
  if (tag === 'select') {
    control = h('select', { ...attrs, id, 'aria-describedby': hintId },
      (options || []).map(([value, text]) => h('option', { value }, text)));
    if (attrs.value !== undefined) control.value = attrs.value;
  } else {
    control = h(tag, { ...attrs, id, 'aria-describedby': hintId });
  }
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null);
  wrap.control = control;
  return wrap;
}

/** A polite status line for a page (`role=status`); `.show(text, kind)` updates it. */
export function statusLine() {
  const el = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  el.show = (text, kind = 'info') => {
    el.textContent = text || '';
    el.dataset.kind = kind;
  };
  return el;
}

/** An error message box (`role=alert`) for a failed request. */
export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, error?.message || String(error));
}

/** Replaces the container's content with the page heading and nodes; focuses the heading. */
export function page(container, title, ...nodes) {
  const heading = h('h1', { tabindex: '-1' }, title);
  container.replaceChildren(heading, ...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  document.title = `${title} · Tutti`;
  return heading;
}
