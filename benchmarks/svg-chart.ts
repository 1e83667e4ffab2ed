/** A small dependency-free SVG line chart: shared x values, one or more stacked panels of series. */
export interface Chart {
  title: string;
  x: { label: string; values: number[] };
  panels: Array<{ label: string; series: Array<{ name: string; values: number[] }> }>;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const W = 720;
const PANEL_H = 220;
const M = { left: 80, right: 150, top: 40, bottom: 50 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const short = (n: number) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toFixed(1)}`);

export function lineChart(chart: Chart): string {
  const xs = chart.x.values;
  const xMax = Math.max(...xs, 1);
  const plotW = W - M.left - M.right;
  const height = M.top + chart.panels.length * (PANEL_H + M.bottom);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(chart.title)}</text>`];
  chart.panels.forEach((panel, p) => {
    const top = M.top + p * (PANEL_H + M.bottom);
    const yMax = Math.max(...panel.series.flatMap((s) => s.values), 1) * 1.05;
    const px = (x: number) => M.left + (x / xMax) * plotW;
    const py = (y: number) => top + PANEL_H - (y / yMax) * PANEL_H;
    out.push(`<line x1="${M.left}" y1="${top + PANEL_H}" x2="${M.left + plotW}" y2="${top + PANEL_H}" stroke="black"/>`,
      `<line x1="${M.left}" y1="${top}" x2="${M.left}" y2="${top + PANEL_H}" stroke="black"/>`);
    for (let i = 0; i <= 4; i++) {
      const y = (yMax * i) / 4;
      out.push(`<text x="${M.left - 6}" y="${py(y) + 4}" text-anchor="end">${short(y)}</text>`,
        `<line x1="${M.left}" y1="${py(y)}" x2="${M.left + plotW}" y2="${py(y)}" stroke="#ddd"/>`);
      const x = (xMax * i) / 4;
      out.push(`<text x="${px(x)}" y="${top + PANEL_H + 16}" text-anchor="middle">${short(x)}</text>`);
    }
    out.push(`<text x="${M.left + plotW / 2}" y="${top + PANEL_H + 34}" text-anchor="middle">${esc(chart.x.label)}</text>`,
      `<text transform="translate(18 ${top + PANEL_H / 2}) rotate(-90)" text-anchor="middle">${esc(panel.label)}</text>`);
    panel.series.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const points = s.values.map((v, j) => `${px(xs[j]).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>`,
        `<text x="${M.left + plotW + 10}" y="${top + 20 + i * 18}" fill="${colour}">${esc(s.name)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
