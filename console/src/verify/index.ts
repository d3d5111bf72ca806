// The browser's verification library: pure TypeScript over WebCrypto, no DOM, so it is
// unit-tested under Node against the server's own proofs (test/verify.test.mjs).
export * from './bytes.js';
export * from './merkle.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './remembered.js';
export * from './entry.js';
export * from './review.js';
