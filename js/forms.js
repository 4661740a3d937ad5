// HTML forms where Skapi takes params: `<form onsubmit="rt.postRealtime(event, 'group')">`.
// A SubmitEvent's default submit is prevented at once; a SubmitEvent, form element, FormData or
// single field is read by Skapi's extractFormData rules (skapi-js src/utils/utils.ts); once the
// call succeeds, a form with an `action` attribute is followed, its {field} placeholders filled.

const has = (name) => typeof globalThis[name] !== 'undefined';

// `a[b][0]` style names build nested objects and arrays; a repeated name becomes an array.
function append(data, name, value) {
  const keys = name.split('[').map((k) => {
    let key = k.replace(']', '');
    const n = Number(key);
    if (key !== '' && !Number.isNaN(n) && !key.includes('.')) return n;
    if (/^(".*"|'.*')$/.test(key)) key = key.slice(1, -1);
    return key;
  });
  if (typeof keys[0] === 'number') throw new TypeError('Form key cannot start with an array index.');
  let obj = data;
  keys.forEach((k, i) => {
    if (i < keys.length - 1) {
      if (obj[k] === undefined) obj[k] = typeof keys[i + 1] === 'number' ? [] : {};
      obj = obj[k];
    } else if (obj[k] === undefined) obj[k] = value;
    else if (Array.isArray(obj[k])) obj[k].push(value);
    else obj[k] = [obj[k], value];
  });
}

const truthy = (v) => v === '' || v === 'on' || v === 'true';

// One field by Skapi's rules: numbers as numbers (empty ones left out), checkboxes and radios as
// booleans unless their value says otherwise, files left out.
function readInput(data, el, put) {
  if (!el.name) return;
  const v = el.value;
  if (el.type === 'number') {
    if (v) put(data, el.name, Number(v));
  } else if (el.type === 'checkbox' || el.type === 'radio') {
    if (el.checked) {
      if ((el.type === 'checkbox' && v === '') || truthy(v)) put(data, el.name, true);
      else if (v === 'false') put(data, el.name, false);
      else if (v) put(data, el.name, v);
    } else if (el.type === 'checkbox') {
      if (truthy(v)) put(data, el.name, false);
      else if (v === 'false') put(data, el.name, true);
    }
  } else if (el.type !== 'file') {
    put(data, el.name, v);
  }
}

/** Skapi's extractFormData: the value itself unless it is a form, a field or FormData. */
export function extractFormData(form, { nullIfEmpty = false } = {}) {
  const data = {};
  const put = (d, name, v) => append(d, name, nullIfEmpty && v === '' ? null : v);
  if (has('SubmitEvent') && form instanceof SubmitEvent) form = form.target;
  if (has('HTMLInputElement') && (form instanceof HTMLInputElement || form instanceof HTMLSelectElement || form instanceof HTMLTextAreaElement)) {
    readInput(data, form, put);
    return data;
  }
  if (has('FormData') && form instanceof FormData) {
    for (const [name, v] of form.entries()) if (typeof v === 'string') put(data, name, v);
    return data;
  }
  if (has('HTMLFormElement') && form instanceof HTMLFormElement) {
    for (const el of form.querySelectorAll('select, textarea')) if (el.name) put(data, el.name, el.value);
    for (const el of form.querySelectorAll('input')) readInput(data, el, put);
    return data;
  }
  return form;
}

/**
 * Takes a method's first argument. For a SubmitEvent: prevents the submit now and returns
 * {value, follow}; `follow()` goes to the form's action (when it has one) after success.
 */
export function takeForm(arg, options) {
  let follow = () => {};
  if (has('SubmitEvent') && arg instanceof SubmitEvent) {
    arg.preventDefault();
    const form = arg.target;
    if (form && form.getAttribute && form.getAttribute('action') !== null) {
      let dest = new URL(form.action, location.href).href;
      for (const name of dest.match(/(?<=\{).*?(?=\})/g) || []) {
        const el = name && form.querySelector(`[name="${name}"]`);
        if (el && el.type !== 'file') dest = dest.replace(`{${name}}`, el.value);
      }
      follow = () => {
        if (dest === location.href) location.replace(dest);
        else location.href = dest;
      };
    }
  }
  return { value: extractFormData(arg, options), follow };
}
