/** Resolve hook (see win32-modules.mjs): `koffi` from build/win32-x64/node_modules. */
const WIN_MODULES = new URL('../../build/win32-x64/node_modules/', import.meta.url);

export async function resolve(specifier, context, next) {
  if (specifier === 'koffi' || specifier.startsWith('koffi/')) {
    return next(specifier, { ...context, parentURL: new URL('resolve-from-here.mjs', WIN_MODULES).href });
  }
  return next(specifier, context);
}
