// Preloaded into the servers a memory benchmark measures (relay and bare baseline alike, with
// --expose-gc): SIGUSR2 runs a full garbage collection, so resident memory is read without the
// garbage the last burst of requests left behind.
if (typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
  });
}
