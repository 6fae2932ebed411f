// node:http without its ES module facade. `import … from 'node:http'` makes Node build the
// module's ESM namespace, which reads every export, the lazy ones too, and those load
// undici (the client behind fetch and WebSocket): about 20 ms of every start, for code the
// server does not use. process.getBuiltinModule gives the CommonJS exports, read as used.
import type * as Http from 'node:http';

export const nodeHttp: typeof Http = process.getBuiltinModule('node:http');
