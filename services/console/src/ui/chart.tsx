import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { ChartPoint } from '../api';
import { useApp } from './context';

export interface ChartLine {
  label: string;
  value: (p: ChartPoint) => number | null;
  colour: string;
}

/**
 * A uPlot time chart of some of the series' points. uPlot draws on a canvas and styles through the CSSOM,
 * so it runs under the CSP without 'unsafe-inline'. It is resized to its box (ResizeObserver), so the same
 * chart reads at 1280 px and at 390 px.
 */
export function Chart({ title, points, lines, yMin, yMax }: { title: string; points: ChartPoint[]; lines: ChartLine[]; yMin?: number; yMax?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { t } = useApp();
  const hasData = points.some((p) => p.calls > 0);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = points.map((p) => Date.parse(p.time) / 1000);
    const data: uPlot.AlignedData = [xs, ...lines.map((l) => points.map((p) => l.value(p)))];
    const width = Math.max(240, el.clientWidth);
    const opts: uPlot.Options = {
      width,
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: yMin === undefined ? {} : { range: (_u, _min, max) => [yMin, yMax ?? Math.max(max ?? 1, yMin + 1)] } },
      axes: [{ stroke: '#6b7280', grid: { stroke: '#eef0f3' } }, { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, size: 50 }],
      // Points are drawn: a bucket with calls between two empty ones is otherwise invisible (no line to draw).
      series: [{ label: t('at') }, ...lines.map((l) => ({ label: l.label, stroke: l.colour, width: 2, spanGaps: false, points: { show: true, size: 3, fill: l.colour } }))],
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      const w = Math.max(240, el.clientWidth);
      if (plot.current && Math.abs(plot.current.width - w) > 2) plot.current.setSize({ width: w, height: 180 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [points, lines, yMin, yMax, t]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={title} />
      {!hasData && <p class="chart-empty">{t('noTraffic')}</p>}
    </figure>
  );
}
