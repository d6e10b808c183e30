import { describe, expect, it } from 'vitest';
import { landscapeSettings } from '../landscape/settings';
import { clampSetting, defaults, readState, writeState, type SettingsTable } from './urlState';

const table = {
  view: { type: 'enum', default: '3d', options: ['3d', 'contour', '1d'], label: 'View' },
  log: { type: 'boolean', default: true, label: 'Log' },
  cmax: { type: 'number', default: 10, min: 0.01, max: 1000, label: 'Top' },
  grid: { type: 'int', default: 11, min: 3, max: 51, label: 'Grid' },
} as const satisfies SettingsTable;

const read = (query: string) => readState(table, 'fig', new URLSearchParams(query));

describe('URL state', () => {
  it('defaults when the URL says nothing, and ignores other figures', () => {
    expect(read('other.view=1d')).toEqual({ state: defaults(table), notices: [] });
  });

  it('reads valid values of every type', () => {
    expect(read('fig.view=contour&fig.log=0&fig.cmax=2.5&fig.grid=21').state).toEqual({
      view: 'contour',
      log: false,
      cmax: 2.5,
      grid: 21,
    });
    expect(read('fig.log=on').state.log).toBe(true);
  });

  it('clamps numbers into range and says so', () => {
    const { state, notices } = read('fig.cmax=1e9&fig.grid=2');
    expect(state.cmax).toBe(1000);
    expect(state.grid).toBe(3);
    expect(notices).toEqual([
      'fig.cmax=1e9 is outside 0.01–1000; using 1000.',
      'fig.grid=2 is outside 3–51; using 3.',
    ]);
  });

  it('replaces what cannot be read by the default, with a notice', () => {
    const { state, notices } = read('fig.view=4d&fig.log=maybe&fig.cmax=abc&fig.grid=');
    expect(state).toEqual(defaults(table));
    expect(notices).toHaveLength(4);
    expect(notices[0]).toBe('fig.view=4d is not one of 3d, contour, 1d; showing 3d.');
  });

  it('rounds integers', () => {
    expect(read('fig.grid=20.6').state.grid).toBe(21);
  });

  it('writes only what differs from the defaults, keeping other keys', () => {
    const state = { ...defaults(table), view: '1d' as const, cmax: 1 / 3 };
    const params = writeState(table, 'fig', state, new URLSearchParams('other.x=1&fig.grid=30'));
    expect(params.toString()).toBe('other.x=1&fig.view=1d&fig.cmax=0.333333');
  });

  it('round-trips every setting of the landscape explorer', () => {
    const state = {
      ...defaults(landscapeSettings),
      model: 'resnet20' as const,
      view: 'contour' as const,
      log: false,
      cmin: 0.2,
      cmax: 8,
      levels: 7,
      az: -40.5,
      el: 12,
      dist: 2.5,
      grid: 21,
      subset: 512,
    };
    const params = writeState(landscapeSettings, 'll', state, new URLSearchParams());
    expect(readState(landscapeSettings, 'll', params)).toEqual({ state, notices: [] });
  });

  it('clampSetting clamps and rounds for the controls', () => {
    expect(clampSetting(table.grid, 99.4)).toBe(51);
    expect(clampSetting(table.cmax, 0)).toBe(0.01);
  });
});
