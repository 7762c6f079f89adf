/**
 * Module hooks for mutation runs (registered by test/mutation/run.ts): a test file imported as
 * `file.ts?run=N` gets its own instance of every project module it reaches (main/, test/), also
 * tagged `?run=N`, while libraries under node_modules stay loaded. So each run starts from fresh
 * product state, and module-level code runs again with the run's mutant active.
 */
const NODE_MODULES = '/node_modules/';

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  if (!parent || !resolved.url.startsWith('file:') || resolved.url.includes(NODE_MODULES)) return resolved;
  const run = /[?&]run=(\d+)/.exec(parent)?.[1];
  if (run === undefined || resolved.url.includes('?')) return resolved;
  return { ...resolved, url: `${resolved.url}?run=${run}` };
}
