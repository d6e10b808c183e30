/**
 * A figure's state in the URL, from one declarative table (after
 * tensorflow/playground's state.ts): each setting has a name, a type, a
 * default and a range, and the same table drives parsing, validation
 * (zod), clamping and writing back. Keys are prefixed per figure
 * (`ll.view=contour`), so several figures share one URL and an embed
 * carries its own state. Only settings that differ from their defaults are
 * written, so a plain link stays plain.
 *
 * A value that does not fit is never silently dropped: it is clamped into its
 * range (numbers) or replaced by the default (anything else), and a notice
 * says so, for the figure to show.
 */
import * as z from 'zod/mini';

export type Setting =
  | { type: 'enum'; default: string; options: readonly string[]; label: string }
  | { type: 'number'; default: number; min: number; max: number; label: string }
  | { type: 'int'; default: number; min: number; max: number; label: string }
  | { type: 'boolean'; default: boolean; label: string };

/** A figure's settings by name. Declare with `as const satisfies SettingsTable`. */
export type SettingsTable = Readonly<Record<string, Setting>>;

type ValueOf<S> = S extends { type: 'enum'; options: readonly (infer O)[] }
  ? O
  : S extends { type: 'boolean' }
    ? boolean
    : number;

/** The values of a table's settings. */
export type StateOf<T extends SettingsTable> = { -readonly [K in keyof T]: ValueOf<T[K]> };

/** The defaults of a table. */
export function defaults<T extends SettingsTable>(table: T): StateOf<T> {
  return Object.fromEntries(
    Object.entries(table).map(([name, setting]) => [name, setting.default]),
  ) as StateOf<T>;
}

const booleanText = z.enum(['1', '0', 'true', 'false', 'on', 'off']);

/** Read one setting from its URL text: the value, and a notice when the text was not used as is. */
function readSetting(
  key: string,
  setting: Setting,
  text: string,
): { value: string | number | boolean; notice: string | null } {
  switch (setting.type) {
    case 'enum': {
      const parsed = z.enum(setting.options as [string, ...string[]]).safeParse(text);
      return parsed.success
        ? { value: parsed.data, notice: null }
        : {
            value: setting.default,
            notice: `${key}=${text} is not one of ${setting.options.join(', ')}; showing ${setting.default}.`,
          };
    }
    case 'boolean': {
      const parsed = booleanText.safeParse(text.toLowerCase());
      return parsed.success
        ? { value: ['1', 'true', 'on'].includes(parsed.data), notice: null }
        : {
            value: setting.default,
            notice: `${key}=${text} is not on or off; showing ${setting.default ? 'on' : 'off'}.`,
          };
    }
    case 'number':
    case 'int': {
      const finite = z.number().check(z.refine(Number.isFinite)).safeParse(Number(text));
      if (text.trim() === '' || !finite.success) {
        return {
          value: setting.default,
          notice: `${key}=${text} is not a number; showing ${setting.default}.`,
        };
      }
      let value = finite.data;
      if (setting.type === 'int') value = Math.round(value);
      const inRange = z.number().check(z.gte(setting.min), z.lte(setting.max)).safeParse(value);
      if (!inRange.success) {
        const clamped = Math.min(setting.max, Math.max(setting.min, value));
        return {
          value: clamped,
          notice: `${key}=${text} is outside ${setting.min}–${setting.max}; using ${clamped}.`,
        };
      }
      return { value, notice: null };
    }
  }
}

/** Parse a figure's state from URL search parameters: values, and notices for any that were corrected. */
export function readState<T extends SettingsTable>(
  table: T,
  prefix: string,
  params: URLSearchParams,
): { state: StateOf<T>; notices: string[] } {
  const state: Record<string, string | number | boolean> = {};
  const notices: string[] = [];
  for (const [name, setting] of Object.entries(table)) {
    const key = `${prefix}.${name}`;
    const text = params.get(key);
    if (text === null) {
      state[name] = setting.default;
      continue;
    }
    const { value, notice } = readSetting(key, setting, text);
    state[name] = value;
    if (notice) notices.push(notice);
  }
  return { state: state as StateOf<T>, notices };
}

/** A number as short URL text: up to 6 significant digits. */
function formatValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return String(Number(value.toPrecision(6)));
  return value;
}

/**
 * Write a figure's state into URL search parameters (a copy): non-default
 * settings set, defaults removed, other figures' keys left alone.
 */
export function writeState<T extends SettingsTable>(
  table: T,
  prefix: string,
  state: StateOf<T>,
  params: URLSearchParams,
): URLSearchParams {
  const out = new URLSearchParams(params);
  for (const [name, setting] of Object.entries(table)) {
    const key = `${prefix}.${name}`;
    const value = (state as Record<string, string | number | boolean>)[name];
    if (value === undefined || formatValue(value) === formatValue(setting.default)) out.delete(key);
    else out.set(key, formatValue(value));
  }
  return out;
}

/** Clamp a value into its setting's range (for controls that can overshoot). */
export function clampSetting(setting: Setting, value: number): number {
  if (setting.type !== 'number' && setting.type !== 'int') return value;
  const v = setting.type === 'int' ? Math.round(value) : value;
  return Math.min(setting.max, Math.max(setting.min, v));
}
