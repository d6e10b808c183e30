/**
 * An .astro import seen by a checker without Astro's language service
 * (svelte-check, tsc): a component. `astro check` sees the real ones.
 */
declare module '*.astro' {
  const component: (props: Record<string, unknown>) => unknown;
  export default component;
}
