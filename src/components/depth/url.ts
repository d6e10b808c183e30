/**
 * Keep a figure's settings in the page URL (replaceState, debounced), the
 * same way for every depth figure; returns a function that stops it.
 */
import { writeState, type SettingsTable, type StateOf } from '../figure/urlState';

export function urlWriter<T extends SettingsTable>(
  table: T,
  id: string,
): {
  write(state: StateOf<T>): void;
  stop(): void;
} {
  let timer = 0;
  return {
    write(state) {
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        const params = writeState(table, id, state, new URLSearchParams(location.search));
        const query = params.toString();
        history.replaceState(
          history.state,
          '',
          `${location.pathname}${query ? `?${query}` : ''}${location.hash}`,
        );
      }, 250);
    },
    stop: () => clearTimeout(timer),
  };
}
