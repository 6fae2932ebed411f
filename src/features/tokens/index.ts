// The tokens module as other features see it: everything they may use, and nothing else.
export type { AccessTokens } from './access-tokens.ts';
export { signingKeyAAD } from './signing-key-material.ts';
