// A library loaded on first use instead of at start. Each costs tens of milliseconds of
// CPU to load (WebAuthn's ASN.1 and COSE stack, nodemailer, sharp's native binding, ...)
// and is needed by a few routes only, so loading them all before /readyz made every start,
// and every instance a deployment adds, slower for work most starts never do.
/** `load` run once, on the first call; a failed load is tried again on the next call. */
export function lazyModule<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | null = null;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = null;
      throw error;
    });
    return loaded;
  };
}
