// Line charts in inline SVG, built with DOM calls (no library, nothing the CSP would refuse).
const NS = 'http://www.w3.org/2000/svg';
/** Series colours: each at least 4.5:1 against white, distinguishable in the common colour-vision deficiencies. */
export const PALETTE = ['#1a1a1a', '#0b5cab', '#b3470b', '#1e6b2e', '#7b2a8c', '#8a6100', '#a4000f', '#006d75'];
const W = 420, H = 220, PAD = { l: 48, r: 12, t: 28, b: 30 };

function node(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * One chart: `series` = [{ name, points: [[x, y]...], aggregate? }]; x are rounds 1..maxX.
 * Returns a <figure> with the SVG, a legend and the numbers as a table for screen readers.
 */
export function lineChart({ title, series, maxX, yFrom0 }) {
  const all = series.flatMap((s) => s.points);
  const ys = all.map((p) => p[1]);
  let lo = yFrom0 ? 0 : Math.min(...ys);
  let hi = Math.max(...ys);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { hi += 0.5; lo = Math.max(0, lo - 0.5); }
  const xMax = Math.max(1, maxX, ...all.map((p) => p[0]));
  const sx = (x) => PAD.l + ((x - 1) / Math.max(1, xMax - 1)) * (W - PAD.l - PAD.r);
  const sy = (y) => H - PAD.b - ((y - lo) / (hi - lo)) * (H - PAD.t - PAD.b);

  const fig = document.createElement('figure');
  fig.className = 'chart-figure';
  const svg = node('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title });
  svg.append(node('title', {}, title), node('text', { x: PAD.l, y: 16, 'font-weight': 700 }, title));
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    svg.append(node('line', { class: 'grid-line', x1: PAD.l, x2: W - PAD.r, y1: sy(v), y2: sy(v) }),
      node('text', { x: PAD.l - 6, y: sy(v) + 4, 'text-anchor': 'end' }, v.toFixed(hi - lo < 0.1 ? 3 : 2)));
  }
  svg.append(node('line', { class: 'axis', x1: PAD.l, x2: PAD.l, y1: PAD.t, y2: H - PAD.b }),
    node('line', { class: 'axis', x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b }));
  const step = Math.max(1, Math.ceil(xMax / 10));
  for (let x = 1; x <= xMax; x += step) svg.append(node('text', { x: sx(x), y: H - PAD.b + 16, 'text-anchor': 'middle' }, String(x)));
  svg.append(node('text', { x: W - PAD.r, y: H - 2, 'text-anchor': 'end' }, 'round'));

  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    if (pts.length === 0) return;
    const g = node('g', { 'data-series': s.name });
    g.append(node('polyline', { class: `series${s.aggregate ? ' aggregate' : ''}`, stroke: colour, points: pts.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ') }));
    for (const [x, y] of pts) g.append(node('circle', { cx: sx(x), cy: sy(y), r: s.aggregate ? 3.5 : 2.5, fill: colour }, undefined));
    svg.append(g);
  });

  const legend = document.createElement('figcaption');
  series.forEach((s, i) => {
    const key = document.createElement('span');
    key.className = 'legend-key';
    const swatch = node('svg', { width: 14, height: 10, 'aria-hidden': 'true' });
    swatch.append(node('rect', { width: 14, height: 10, fill: PALETTE[i % PALETTE.length] }));
    key.append(swatch, document.createTextNode(` ${s.name}  `));
    legend.append(key);
  });

  const table = document.createElement('table');
  table.className = 'sr-only';
  const cap = document.createElement('caption');
  cap.textContent = `${title}: values`;
  table.append(cap);
  for (const s of series) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = s.name;
    const td = document.createElement('td');
    td.textContent = s.points.map(([x, y]) => `round ${x}: ${y.toFixed(4)}`).join('; ');
    tr.append(th, td);
    table.append(tr);
  }
  fig.append(svg, legend, table);
  return fig;
}
