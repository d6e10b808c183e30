import { describe, expect, it } from 'vitest';
import { exportPanels, indexLine, panelsCsv, type Panel } from './charts';

const panel: Panel = {
  key: 'gsc',
  title: 'GSC(k, L)',
  xLabel: 'layer k',
  yLabel: 'GSC',
  log: true,
  yDomain: null,
  series: [
    indexLine({ key: 'a', label: 'plain, "shipped"', run: 'noskip', values: [4, Infinity, 1] }),
    indexLine({ key: 'b', label: 'residual', run: 'skip', values: [2, 1.5, 1], live: true }),
  ],
};

describe('depth charts', () => {
  it('index lines put non-finite values as gaps, live and dashed as asked', () => {
    const [a, b] = panel.series;
    expect(a!.points).toEqual([
      { x: 0, y: 4 },
      { x: 1, y: null },
      { x: 2, y: 1 },
    ]);
    expect([a!.source, b!.source]).toEqual(['shipped', 'live']);
    expect(indexLine({ key: 'c', label: 'c', run: 'skip', values: [1], dashed: true }).split).toBe(
      'test',
    );
  });

  it('writes every point to CSV, quoting labels, after the provenance lines', () => {
    const csv = panelsCsv([panel], ['seed 0, 4 draws']);
    expect(csv.split('\n')).toEqual([
      '# seed 0, 4 draws',
      'chart,line,x,value',
      '"GSC(k, L)","plain, ""shipped""",0,4',
      '"GSC(k, L)","plain, ""shipped""",1,',
      '"GSC(k, L)","plain, ""shipped""",2,1',
      '"GSC(k, L)",residual,0,2',
      '"GSC(k, L)",residual,1,1.5',
      '"GSC(k, L)",residual,2,1',
      '',
    ]);
  });

  it('exports a standalone SVG with both lines', () => {
    const { svg, width, height } = exportPanels([panel, { ...panel, key: 'two' }], 'x');
    expect(width).toBe(640);
    expect(height).toBeGreaterThan(300);
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(4);
  });
});
