// Interactive reference for /openapi.json: every operation with its schemas and a "send" form.
const $ = (id) => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };

function operationView(path, method, op, index) {
  const d = el('details', undefined, 'panel');
  d.dataset.search = `${method} ${path} ${op.summary ?? ''}`.toLowerCase();
  d.append(el('summary', `${method.toUpperCase()} ${path}${op.summary ? ` — ${op.summary}` : ''}`));
  const params = op.parameters ?? [];
  const inputs = params.map((p, i) => {
    const id = `p-${index}-${i}`;
    const wrap = el('p');
    const label = el('label', `${p.name} (${p.in}${p.required ? ', required' : ''})`);
    label.htmlFor = id;
    const input = el('input');
    input.id = id;
    input.dataset.name = p.name;
    input.dataset.in = p.in;
    wrap.append(label, input);
    d.append(wrap);
    return input;
  });
  let body = null;
  if (op.requestBody) {
    d.append(el('h3', 'Request body'), el('pre', JSON.stringify(op.requestBody.content['application/json']?.schema ?? {}, null, 2), 'mono'));
    const id = `b-${index}`;
    const label = el('label', 'Body (JSON)');
    label.htmlFor = id;
    body = el('textarea');
    body.id = id;
    body.rows = 4;
    body.cols = 60;
    body.value = '{}';
    d.append(label, body);
  }
  d.append(el('h3', 'Responses'));
  for (const [status, r] of Object.entries(op.responses ?? {})) {
    const schema = Object.values(r.content ?? {})[0]?.schema;
    d.append(el('p', `${status}: ${r.description ?? ''}`), ...(schema ? [el('pre', JSON.stringify(schema, null, 2), 'mono')] : []));
  }
  const send = el('button', 'Send');
  send.type = 'button';
  const out = el('pre', '', 'mono');
  out.setAttribute('aria-live', 'polite');
  send.addEventListener('click', async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const input of inputs) {
      if (!input.value) continue;
      if (input.dataset.in === 'path') url = url.replace(`{${input.dataset.name}}`, encodeURIComponent(input.value));
      else query.set(input.dataset.name, input.value);
    }
    const headers = { accept: 'application/json' };
    if ($('token').value) headers.authorization = `Bearer ${$('token').value.trim()}`;
    if (body) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${query.size ? `?${query}` : ''}`, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
    const text = await res.text();
    out.textContent = `${res.status}\n${text.slice(0, 20000)}`;
  });
  d.append(send, out);
  return d;
}

const doc = await fetch('/openapi.json').then((r) => r.json());
let i = 0;
const views = [];
for (const [path, methods] of Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b))) {
  for (const [method, op] of Object.entries(methods)) views.push(operationView(path, method, op, i++));
}
$('operations').replaceChildren(...views);
$('filter').addEventListener('input', () => {
  const q = $('filter').value.toLowerCase();
  for (const v of views) v.hidden = q !== '' && !v.dataset.search.includes(q);
});
