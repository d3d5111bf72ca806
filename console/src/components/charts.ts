import { html, svg, type TemplateResult } from 'lit';

// Inline SVG charts: no chart library, nothing fetched, readable without colour (every bar
// and point carries its number as text and a <title>), and each chart has a role=img label.

export interface Bar {
  label: string;
  value: number;
  color?: string;
}

const esc = (s: string) => s; // lit escapes text content and attributes itself

// Horizontal bars, one per label, with the value written at the end of each bar.
export function barChart(title: string, bars: Bar[], opts: { width?: number; color?: string } = {}): TemplateResult {
  const width = opts.width ?? 420;
  const row = 26;
  const labelW = 150;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const h = Math.max(row, bars.length * row) + 6;
  const room = width - labelW - 40;
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg role="img" aria-label=${title} viewBox="0 0 ${width} ${h}" width="100%" style="max-width: ${width}px">
      ${bars.map((b, i) => {
        const y = i * row + 4;
        const w = Math.max(b.value > 0 ? 2 : 0, (b.value / max) * room);
        return svg`<g>
          <title>${esc(b.label)}: ${b.value}</title>
          <text x=${labelW - 6} y=${y + 15} text-anchor="end" font-size="12" fill="#1d2330">${b.label.length > 22 ? b.label.slice(0, 21) + '…' : b.label}</text>
          <rect x=${labelW} y=${y + 2} width=${w} height=${row - 10} rx="3" fill=${b.color ?? opts.color ?? '#3056d3'}></rect>
          <text x=${labelW + w + 5} y=${y + 15} font-size="12" fill="#1d2330">${b.value}</text>
        </g>`;
      })}
    </svg>
  </figure>`;
}

export interface Segment {
  key: string;
  label: string;
  value: number;
  color: string;
}

// One bar split into coloured segments (e.g. PASS/FAIL/MANUAL/ERROR of a group), with a
// legend underneath that repeats the numbers as text.
export function stackedBar(title: string, segments: Segment[], width = 240): TemplateResult {
  const total = segments.reduce((a, s) => a + s.value, 0);
  let x = 0;
  return html`<svg role="img" aria-label=${`${title}: ${segments.map((s) => `${s.label} ${s.value}`).join(', ')}`} viewBox="0 0 ${width} 14" width=${width} height="14" class="stacked">
    ${total === 0
      ? svg`<rect x="0" y="0" width=${width} height="14" rx="3" fill="#eef1f6"></rect>`
      : segments.map((s) => {
          const w = (s.value / total) * width;
          const r = svg`<rect x=${x} y="0" width=${w} height="14" fill=${s.color}><title>${s.label}: ${s.value}</title></rect>`;
          x += w;
          return r;
        })}
  </svg>`;
}

export interface Series {
  label: string;
  color: string;
  points: number[];
}

// A line chart over runs (x = run order, oldest left), with y axis ticks and a legend.
export function lineChart(title: string, xLabels: string[], series: Series[], opts: { width?: number; height?: number } = {}): TemplateResult {
  const width = opts.width ?? 640;
  const height = opts.height ?? 220;
  const left = 40, right = 12, top = 12, bottom = 34;
  const n = xLabels.length;
  const max = Math.max(1, ...series.flatMap((s) => s.points));
  const nice = niceMax(max);
  const px = (i: number) => left + (n <= 1 ? (width - left - right) / 2 : (i * (width - left - right)) / (n - 1));
  const py = (v: number) => top + (1 - v / nice) * (height - top - bottom);
  const ticks = [0, nice / 4, nice / 2, (3 * nice) / 4, nice];
  const every = Math.max(1, Math.ceil(n / 8));
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg role="img" aria-label=${title} viewBox="0 0 ${width} ${height}" width="100%" style="max-width: ${width}px">
      ${ticks.map(
        (v) => svg`<g><line x1=${left} x2=${width - right} y1=${py(v)} y2=${py(v)} stroke="#e3e6ec"></line>
          <text x=${left - 6} y=${py(v) + 4} text-anchor="end" font-size="11" fill="#5b6475">${Math.round(v)}</text></g>`,
      )}
      ${xLabels.map((l, i) => (i % every === 0 || i === n - 1 ? svg`<text x=${px(i)} y=${height - 14} text-anchor="middle" font-size="10" fill="#5b6475">${l}</text>` : ''))}
      ${series.map(
        (s) => svg`<g class="series" data-series=${s.label}>
          <polyline fill="none" stroke=${s.color} stroke-width="2" points=${s.points.map((v, i) => `${px(i)},${py(v)}`).join(' ')}></polyline>
          ${s.points.map((v, i) => svg`<circle cx=${px(i)} cy=${py(v)} r="3.5" fill=${s.color}><title>${s.label} · ${xLabels[i]}: ${v}</title></circle>`)}
        </g>`,
      )}
    </svg>
    <div class="legend">${series.map((s) => html`<span><i style="background:${s.color}"></i>${s.label}</span>`)}</div>
  </figure>`;
}

function niceMax(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return Math.max(4, m * p);
  return v;
}

// Shared styles for the charts (figure, caption, legend).
export const chartCss = `
  figure.chart { margin: 0 0 1rem; }
  figure.chart figcaption { font-weight: 600; margin-bottom: 0.3rem; }
  .legend { display: flex; gap: 1rem; flex-wrap: wrap; font-size: 0.85rem; color: #3b4252; }
  .legend i { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.3rem; vertical-align: -1px; }
`;
